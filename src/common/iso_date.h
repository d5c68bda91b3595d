// Checking calendar dates written "YYYY-MM-DD" (as_of dates, business dates), for
// the bureau client and the bureau simulator alike. Pure, thread-safe.
#pragma once

#include <string_view>

namespace lastro {

// True for "YYYY-MM-DD" naming a real calendar day (leap years included): exactly
// 10 characters, 4+2+2 ASCII digits, '-' separators. False for anything else,
// including "2026-3-15", "2026/03/15" and "".
bool IsIsoDate(std::string_view text);

}  // namespace lastro
