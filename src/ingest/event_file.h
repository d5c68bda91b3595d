// The event collector's files on disk: finding them, reading them line by line with a
// bound on line length, and their SHA-256 (the identity of a file in the ingest ledger).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lastro::ingest {

struct EventFile {
  std::filesystem::path path;  // as found
  std::string name;            // relative to the folder given ("2026/11/events-...jsonl")
  int64_t bytes = 0;
};

// Every regular file named *.jsonl under `path` (recursively, not into symlinked
// folders; names starting with '.' skipped, so a collector's in-progress
// ".events-...jsonl" is not read), sorted by name. When `path` is itself a file it is the only one,
// whatever its name. Errors: kNotFound (no such path), kUnavailable (unreadable folder).
StatusOr<std::vector<EventFile>> ListEventFiles(const std::filesystem::path& path);

// One line as read: its text (without '\n'; at most the reader's bound), its 1-based
// number and its full length in bytes (beyond the bound when cut).
struct Line {
  std::string_view text;
  int64_t number = 0;
  int64_t bytes = 0;
  bool too_long = false;  // longer than the bound: `text` holds only its first bytes
};

// SHA-256 of a whole file, lowercase hex (OpenSSL: SHA-NI where the CPU has it, several
// times libsodium's portable code on the collector's files). Errors: kNotFound,
// kUnavailable.
StatusOr<std::string> Sha256Hex(const std::filesystem::path& path);

class Sha256State;  // an incremental hash (event_file.cc)

// Reads a file once, sequentially, in 1 MiB chunks, hashing every byte (SHA-256) as it
// goes. Memory stays within the chunk plus `max_line_bytes`, whatever the file holds.
// The last line counts even without a final '\n'. Not thread-safe.
class LineReader {
 public:
  // Errors: kNotFound, kUnavailable.
  static StatusOr<std::unique_ptr<LineReader>> Open(const std::filesystem::path& path,
                                                    size_t max_line_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line into `line` (valid until the next call): true, or false at the end
  // of the file. Errors: kUnavailable (read error).
  StatusOr<bool> Next(Line& line);

  // Lowercase hex SHA-256 of every byte read so far (the whole file once Next() has
  // returned false).
  std::string Sha256Hex() const;

 private:
  LineReader(std::FILE* file, size_t max_line_bytes);
  Status Fill();
  std::FILE* file_;
  size_t max_line_bytes_;
  std::unique_ptr<Sha256State> hash_;
  std::vector<char> chunk_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  std::string line_;
  int64_t number_ = 0;
};

}  // namespace lastro::ingest
