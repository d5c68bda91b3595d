#include "naive_poller.h"

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "decide/decider.h"
#include "decide/policy.h"
#include "decide/stream_store.h"
#include "pg/connection.h"
#include "risk/risk_client.h"

namespace lastro::bench {
namespace {

constexpr char kPollSql[] =
    "SELECT r.id, r.customer_id, r.amount_cents, r.term_months, r.purpose, r.channel, "
    "r.declared_income_cents, (extract(epoch from r.created_at) * 1000000)::bigint, c.cpf, "
    "NOT EXISTS (SELECT 1 FROM credit_requests p WHERE p.customer_id = r.customer_id "
    "AND p.id <> r.id AND p.status = 'APPROVED') "
    "FROM credit_requests r JOIN customers c ON c.id = r.customer_id "
    "WHERE r.status = 'PENDING' ORDER BY r.created_at";

// Decisions waiting for a writer. Guarded by mu.
struct WriteQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<decide::Decision> items;
  bool closed = false;

  void Push(decide::Decision d) {
    {
      std::lock_guard lock(mu);
      items.push_back(std::move(d));
    }
    cv.notify_one();
  }
  // False once closed and empty.
  bool Pop(decide::Decision& out) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return closed || !items.empty(); });
    if (items.empty()) return false;
    out = std::move(items.front());
    items.pop_front();
    return true;
  }
  void Close() {
    {
      std::lock_guard lock(mu);
      closed = true;
    }
    cv.notify_all();
  }
};

void WriterLoop(const NaivePollerOptions& options, WriteQueue& queue) {
  std::unique_ptr<decide::StreamStore> store;
  decide::Decision d;
  while (queue.Pop(d)) {
    for (int attempt = 0;; ++attempt) {
      if (!store) {
        auto s = decide::StreamStore::Connect(options.dsn, "lastro-naive-writer", 30000);
        if (s.ok()) store = std::move(*s);
      }
      if (store && store->Write({d}).ok()) break;
      store.reset();
      std::fprintf(stderr, "naive writer: write failed, retrying\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 << attempt, 2000)));
    }
  }
}

}  // namespace

Status RunNaivePoller(const NaivePollerOptions& options, const std::atomic<bool>& stop) {
  LASTRO_ASSIGN_OR_RETURN(decide::Policy policy, decide::Policy::LoadFile(options.policy_file));
  LASTRO_ASSIGN_OR_RETURN(auto conn, pg::Connection::Connect(options.dsn, {"lastro-naive-poll"}));
  metrics::Registry registry;
  RiskConfig rc;
  rc.url = options.risk_url;
  rc.max_in_flight = options.max_in_flight;
  LASTRO_ASSIGN_OR_RETURN(auto risk, risk::RiskClient::Create(rc, RealClock::Instance(), registry));

  WriteQueue queue;
  std::vector<std::thread> writers;
  for (int i = 0; i < options.writers; ++i) {
    writers.emplace_back([&] { WriterLoop(options, queue); });
  }
  // Ids already sent: a poll can see a row whose decision is being written.
  std::unordered_set<int64_t> seen;
  std::fprintf(stderr, "naive poller started\n");
  Status result;
  while (!stop) {
    auto next = std::chrono::steady_clock::now() + options.poll_interval;
    auto rows = conn->Exec(kPollSql);
    if (!rows.ok()) {
      result = rows.status();
      break;
    }
    for (int i = 0; i < rows->rows() && !stop; ++i) {
      int64_t id = rows->GetInt(i, 0);
      if (!seen.insert(id).second) continue;
      decide::CapturedRequest q;
      q.id = id;
      q.customer_id = rows->GetInt(i, 1);
      q.amount_cents = rows->GetInt(i, 2);
      q.term_months = int32_t(rows->GetInt(i, 3));
      q.purpose = std::string(rows->Get(i, 4));
      q.channel = std::string(rows->Get(i, 5));
      if (!rows->IsNull(i, 6)) q.declared_income_cents = rows->GetInt(i, 6);
      q.status = "PENDING";
      q.created_at_us = rows->GetInt(i, 7);
      decide::RequestContext ctx;
      ctx.status = "PENDING";
      ctx.cpf = std::string(rows->Get(i, 8));
      ctx.first_time_customer = rows->Get(i, 9) == "t";
      risk::ScoreRequest sr = decide::MakeScoreRequest(q, ctx);
      auto done = [&queue, &policy, q, ctx](risk::ScoreResult r) {
        if (!r.assessment.ok() && absl::IsCancelled(r.assessment.status())) return;
        queue.Push(decide::MakeDecision(q, ctx, r, policy, "MANUAL_REVIEW"));
      };
      // Backpressure: wait for room under max_in_flight, as the stream does.
      while (!stop &&
             absl::IsResourceExhausted(risk->Submit(sr, done, std::chrono::milliseconds(200)))) {
      }
    }
    std::this_thread::sleep_until(next);  // the poll period (late polls start at once)
  }
  risk->Shutdown();
  queue.Close();
  for (auto& t : writers) t.join();
  return result;
}

}  // namespace lastro::bench
