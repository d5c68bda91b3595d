#include "ingest/event_stage.h"

#include <thread>

#include "absl/strings/str_cat.h"

namespace lastro::ingest {

EventStager::EventStager(EventBronze& bronze, const LineRules& rules, size_t max_line_bytes,
                         int threads)
    : bronze_(bronze),
      rules_(rules),
      max_line_bytes_(max_line_bytes),
      max_in_flight_(threads > 0 ? static_cast<size_t>(threads)
                                 : std::max(1u, std::thread::hardware_concurrency())),
      too_long_reason_(absl::StrCat("line longer than ", max_line_bytes, " bytes")) {}

EventStager::~EventStager() {
  for (auto& f : in_flight_) f.wait();
}

Status EventStager::Submit() {
  if (batch_.size() == 0) return absl::OkStatus();
  while (in_flight_.size() >= max_in_flight_) LASTRO_RETURN_IF_ERROR(StageOldest());
  in_flight_.push_back(std::async(std::launch::async, [batch = std::move(batch_), this]() mutable {
    Parsed p;
    p.results.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch.too_long[i]) {
        p.results.push_back({.reason = too_long_reason_});
      } else {
        p.results.push_back(ParseEventLine(batch.line(i), rules_));
      }
    }
    p.batch = std::move(batch);
    return p;
  }));
  batch_ = Batch();
  return absl::OkStatus();
}

Status EventStager::StageOldest() {
  Parsed p = in_flight_.front().get();
  in_flight_.pop_front();
  const Batch& b = p.batch;
  for (size_t i = 0; i < b.size(); ++i) {
    const LineResult& r = p.results[i];
    if (r.event) {
      LASTRO_RETURN_IF_ERROR(bronze_.AddEvent(b.file_index, b.numbers[i], *r.event));
    } else {
      LASTRO_RETURN_IF_ERROR(bronze_.AddRefused(b.file_index, b.numbers[i], r.reason, r.event_id,
                                                b.line(i), b.bytes[i]));
    }
  }
  return absl::OkStatus();
}

StatusOr<int64_t> EventStager::AddFile(const EventFile& file, int file_index,
                                       const std::string& sha256) {
  LASTRO_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader,
                          LineReader::Open(file.path, max_line_bytes_));
  batch_.file_index = file_index;
  int64_t read = 0;
  Line line;
  while (true) {
    LASTRO_ASSIGN_OR_RETURN(bool more, reader->Next(line));
    if (!more) break;
    ++read;
    batch_.text.append(line.text);
    batch_.offsets.push_back(batch_.text.size());
    batch_.numbers.push_back(line.number);
    batch_.bytes.push_back(line.bytes);
    batch_.too_long.push_back(line.too_long);
    if (batch_.size() == kBatchLines) {
      LASTRO_RETURN_IF_ERROR(Submit());
      batch_.file_index = file_index;
    }
  }
  LASTRO_RETURN_IF_ERROR(Submit());  // a batch never spans two files
  if (reader->Sha256Hex() != sha256) {
    return absl::UnavailableError(
        absl::StrCat("event file ", file.name,
                     " changed while it was read; retry once the collector has closed it"));
  }
  LASTRO_RETURN_IF_ERROR(bronze_.AddFile(file_index, file.name, sha256, file.bytes, read));
  return read;
}

Status EventStager::Finish() {
  while (!in_flight_.empty()) LASTRO_RETURN_IF_ERROR(StageOldest());
  return absl::OkStatus();
}

}  // namespace lastro::ingest
