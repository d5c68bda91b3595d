// Reading the collector's files into the run's staging tables with the parsing spread
// over worker threads: the calling thread reads lines (event_file.h) and cuts them into
// batches, workers check each batch's lines (event_line.h), and the calling thread
// stages the results (event_bronze.h) in file and line order, so the outcome is the
// same whatever the number of threads.
//
// Not thread-safe: one thread calls AddFile() and Finish(); the workers touch only
// their own batch.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/status.h"
#include "ingest/event_bronze.h"
#include "ingest/event_file.h"
#include "ingest/event_line.h"

namespace lastro::ingest {

class EventStager {
 public:
  // `threads` workers at most (<= 0: one per core); lines longer than `max_line_bytes`
  // are refused unread. `bronze` and `rules` must outlive the stager.
  EventStager(EventBronze& bronze, const LineRules& rules, size_t max_line_bytes, int threads);
  ~EventStager();  // waits for batches still being parsed (their results are dropped)
  EventStager(const EventStager&) = delete;
  EventStager& operator=(const EventStager&) = delete;

  // Reads `file` (index `file_index` in the run) and queues its lines; returns the lines
  // read. Its rows may be staged after this returns: call Finish() before reading the
  // staging tables. Errors: kNotFound/kUnavailable (I/O), kUnavailable when the file no
  // longer hashes to `sha256` (the collector is still writing it), staging errors.
  StatusOr<int64_t> AddFile(const EventFile& file, int file_index, const std::string& sha256);

  // Stages every batch still in flight.
  Status Finish();

 private:
  static constexpr size_t kBatchLines = 8192;
  // Lines of one file, back to back in `text` (line i is [offsets[i], offsets[i+1])).
  struct Batch {
    int file_index = 0;
    std::string text;
    std::vector<size_t> offsets{0};
    std::vector<int64_t> numbers, bytes;
    std::vector<bool> too_long;
    size_t size() const { return numbers.size(); }
    std::string_view line(size_t i) const {
      return std::string_view(text).substr(offsets[i], offsets[i + 1] - offsets[i]);
    }
  };
  struct Parsed {
    Batch batch;
    std::vector<LineResult> results;
  };

  Status Submit();
  Status StageOldest();

  EventBronze& bronze_;
  const LineRules& rules_;
  size_t max_line_bytes_;
  size_t max_in_flight_;
  std::string too_long_reason_;
  Batch batch_;
  std::deque<std::future<Parsed>> in_flight_;
};

}  // namespace lastro::ingest
