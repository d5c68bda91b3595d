// Test-only access to the pgoutput fixtures in testdata/ (captured from a real
// PostgreSQL 15 by testdata/capture_fixtures.sh). Not part of lastro_capture.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lastro::capture::testing {

// Names (without ".hex") of every fixture in testdata/, sorted.
std::vector<std::string> FixtureNames();

// The messages of testdata/<name>.hex as raw bytes, one per non-comment line.
// Fails the current test (ADD_FAILURE) and returns what it could on a missing
// file or bad hex.
std::vector<std::string> LoadFixture(std::string_view name);

}  // namespace lastro::capture::testing
