#include "decide/batch_writer.h"

#include <algorithm>
#include <unordered_set>

#include "common/log.h"

namespace lastro::decide {

BatchWriter::BatchWriter(BatchWriterOptions options, metrics::Registry& m, WrittenFn on_written)
    : options_(std::move(options)),
      on_written_(std::move(on_written)),
      batches_(m.GetCounter("lastro.writer.batches", "Decision batches committed")),
      rows_(m.GetCounter("lastro.writer.rows", "Decisions written")),
      parked_(m.GetCounter("lastro.writer.parked", "Decisions refused by the DB, dead-lettered")),
      write_errors_(m.GetCounter("lastro.writer.errors", "Failed write attempts")),
      invisible_retries_(m.GetCounter("lastro.writer.invisible_retries",
                                      "Decisions re-queued because their request row was not "
                                      "visible yet")),
      vanished_(m.GetCounter("lastro.writer.vanished",
                             "Decisions dropped because their request was deleted")),
      batch_size_(m.GetHistogram("lastro.writer.batch_size", "Decisions per batch")),
      write_ms_(m.GetHistogram("lastro.writer.write.ms", "Batch write time, ms")) {}

BatchWriter::~BatchWriter() { Stop(); }

void BatchWriter::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void BatchWriter::Add(Decision decision) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(decision));
  }
  cv_.notify_one();
}

size_t BatchWriter::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void BatchWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BatchWriter::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    // Give a partial batch a moment to fill: fewer, larger transactions.
    if (!stop_ && int(queue_.size()) < options_.batch_max) {
      cv_.wait_for(lock, options_.batch_max_wait,
                   [this] { return stop_ || int(queue_.size()) >= options_.batch_max; });
    }
    size_t n = std::min(queue_.size(), size_t(options_.batch_max));
    std::vector<Decision> batch(std::make_move_iterator(queue_.begin()),
                                std::make_move_iterator(queue_.begin() + long(n)));
    queue_.erase(queue_.begin(), queue_.begin() + long(n));
    lock.unlock();
    WriteWithRetry(batch);
    lock.lock();
  }
}

void BatchWriter::WriteWithRetry(std::vector<Decision>& batch) {
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    Status s = WriteOnce(batch);
    if (s.ok()) {
      db_ok_ = true;
      return;
    }
    write_errors_.Add();
    if (absl::IsInvalidArgument(s) || absl::IsAlreadyExists(s)) {
      s = WriteRowByRow(batch);
      if (s.ok()) return;
    }
    db_ok_ = false;
    store_.reset();  // reconnect on the next attempt
    log::Warn("decision write failed; retrying", {{"error", std::string(s.message())},
                                                  {"batch", batch.size()},
                                                  {"backoff_ms", backoff.count()}});
    {
      std::unique_lock lock(mu_);
      // Keep retrying even when stopping: these decisions must not be lost. A
      // stop during an outage ends with the process; the slot replays them.
      if (stop_ && backoff >= options_.max_backoff) {
        log::Error("writer stopping with undelivered decisions; they will be replayed",
                   {{"batch", batch.size()}});
        return;
      }
      cv_.wait_for(lock, backoff);
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

Status BatchWriter::WriteOnce(const std::vector<Decision>& batch) {
  if (!store_) {
    LASTRO_ASSIGN_OR_RETURN(
        store_, StreamStore::Connect(options_.dsn, options_.application_name,
                                     options_.statement_timeout_ms, options_.lock_timeout_ms));
  }
  auto start = std::chrono::steady_clock::now();
  auto now = std::chrono::steady_clock::now();
  LASTRO_ASSIGN_OR_RETURN(WriteResult result, store_->Write(batch));
  write_ms_.Observe(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  batches_.Add();
  rows_.Add(int64_t(batch.size()));
  batch_size_.Observe(double(batch.size()));
  if (result.missing.empty()) {
    on_written_(batch, result);
    return absl::OkStatus();
  }
  // Rows not visible yet are written again shortly; only after a while is the
  // request taken as deleted. Completing them now would let the slot forget a
  // request that has no decision.
  std::unordered_set<int64_t> missing(result.missing.begin(), result.missing.end());
  std::vector<Decision> done, again;
  for (const Decision& d : batch) {
    if (!missing.count(d.request_id)) {
      done.push_back(d);
      continue;
    }
    Decision retry = d;
    if (retry.first_write == std::chrono::steady_clock::time_point{}) retry.first_write = now;
    if (now - retry.first_write < options_.invisible_retry_for) {
      again.push_back(std::move(retry));
    } else {
      vanished_.Add();
      done.push_back(d);
    }
  }
  if (!done.empty()) on_written_(done, result);
  if (!again.empty()) {
    invisible_retries_.Add(int64_t(again.size()));
    std::lock_guard lock(mu_);
    for (Decision& d : again) queue_.push_back(std::move(d));
  }
  return absl::OkStatus();
}

Status BatchWriter::WriteRowByRow(const std::vector<Decision>& batch) {
  for (const Decision& d : batch) {
    std::vector<Decision> one{d};
    Status s = WriteOnce(one);
    if (s.ok()) continue;
    if (!absl::IsInvalidArgument(s) && !absl::IsAlreadyExists(s)) return s;
    // The DB refused this row: park it with the reason, then report it durable.
    LASTRO_RETURN_IF_ERROR(store_->DeadLetter(
        "decision_write", d.source_lsn, d.request_id, std::string(s.message()),
        nlohmann::json({{"request_id", d.request_id},
                        {"status", d.status},
                        {"score", d.score ? nlohmann::json(*d.score) : nlohmann::json()},
                        {"reason_codes", d.reason_codes},
                        {"policy_version", d.policy_version}})
            .dump()));
    parked_.Add();
    log::ScopedCorrelation correlation(log::RequestCorrelationId(d.request_id));
    log::Error("decision refused by the database; parked in dead_letters",
               {{"request_id", d.request_id}, {"error", std::string(s.message())}});
    on_written_(one, WriteResult{});
  }
  return absl::OkStatus();
}

}  // namespace lastro::decide
