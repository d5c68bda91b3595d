#include "capture/test_fixtures.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

#ifndef LASTRO_CAPTURE_TESTDATA_DIR
#error "LASTRO_CAPTURE_TESTDATA_DIR must name src/capture/testdata"
#endif

namespace lastro::capture::testing {

std::vector<std::string> FixtureNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(LASTRO_CAPTURE_TESTDATA_DIR)) {
    if (entry.path().extension() == ".hex") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> LoadFixture(std::string_view name) {
  const std::string path =
      std::string(LASTRO_CAPTURE_TESTDATA_DIR) + "/" + std::string(name) + ".hex";
  std::ifstream in(path);
  std::vector<std::string> messages;
  if (!in) {
    ADD_FAILURE() << "cannot open fixture " << path;
    return messages;
  }
  std::string line;
  while (std::getline(in, line)) {
    const absl::string_view hex = absl::StripAsciiWhitespace(line);
    if (hex.empty() || hex.front() == '#') continue;
    const bool valid_hex = hex.size() % 2 == 0 && std::all_of(hex.begin(), hex.end(), [](char c) {
                             return absl::ascii_isxdigit(static_cast<unsigned char>(c));
                           });
    if (!valid_hex) {
      ADD_FAILURE() << path << ": not a hex line: " << hex.substr(0, 40);
      continue;
    }
    messages.push_back(absl::HexStringToBytes(hex));
  }
  return messages;
}

}  // namespace lastro::capture::testing
