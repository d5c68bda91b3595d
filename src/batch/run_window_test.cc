#include "batch/run_window.h"

#include <gtest/gtest.h>

namespace lastro::batch {
namespace {

absl::TimeZone SaoPaulo() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("America/Sao_Paulo", &zone));
  return zone;
}

absl::Time Utc(int y, int m, int d, int h) {
  return absl::FromCivil(absl::CivilHour(y, m, d, h), absl::UTCTimeZone());
}

TEST(RunWindow, DefaultIsYesterdayInTheBusinessTimeZone) {
  // 01:00 UTC on the 21st is still the 20th in São Paulo (UTC-3): yesterday is the 19th.
  auto w = MakeRunWindow("", "", "", SaoPaulo(), Utc(2026, 11, 21, 1));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->mode, RunMode::kIncremental);
  EXPECT_EQ(w->first_day, "2026-11-19");
  EXPECT_EQ(w->start, Utc(2026, 11, 19, 3));
  EXPECT_EQ(w->end, Utc(2026, 11, 20, 3));
}

TEST(RunWindow, BackfillCoversWholeLocalDaysIncludingAShortDstDay) {
  // 2018-11-04 began at 01:00 in São Paulo (DST): a 23-hour day.
  auto w = MakeRunWindow("", "2018-11-04", "2018-11-04", SaoPaulo(), absl::Now());
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->mode, RunMode::kBackfill);
  EXPECT_EQ(w->end - w->start, absl::Hours(23));
  EXPECT_EQ(w->label, "2018-11-04");
  auto range = MakeRunWindow("", "2026-11-01", "2026-11-07", SaoPaulo(), absl::Now());
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->label, "2026-11-01_2026-11-07");
  EXPECT_EQ(range->end - range->start, absl::Hours(7 * 24));
}

TEST(RunWindow, RefusesBadDatesAndRanges) {
  absl::TimeZone z = SaoPaulo();
  EXPECT_EQ(MakeRunWindow("2026-13-01", "", "", z, absl::Now()).status().message(),
            "--date '2026-13-01' is not a date (YYYY-MM-DD)");
  EXPECT_TRUE(
      absl::IsInvalidArgument(MakeRunWindow("", "2026-11-01", "", z, absl::Now()).status()));
  EXPECT_EQ(MakeRunWindow("", "2026-11-02", "2026-11-01", z, absl::Now()).status().message(),
            "--to is before --from");
  EXPECT_TRUE(absl::IsInvalidArgument(
      MakeRunWindow("", "2025-01-01", "2026-11-01", z, absl::Now()).status()));
}

TEST(ScopePredicate, IncrementalReadsChangesSinceTheWatermarkCreatedBeforeTheDaysEnd) {
  auto w = MakeRunWindow("2026-11-20", "", "", SaoPaulo(), absl::Now());
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(ScopePredicate(*w, std::nullopt),
            "(r.created_at < '2026-11-21 03:00:00.000000+00' OR r.created_at IS NULL)");
  EXPECT_EQ(ScopePredicate(*w, Utc(2026, 11, 20, 2)),
            "(r.updated_at >= '2026-11-20 02:00:00.000000+00' AND "
            "(r.created_at < '2026-11-21 03:00:00.000000+00' OR r.created_at IS NULL))");
}

TEST(ScopePredicate, BackfillReadsEveryRequestCreatedInTheRange) {
  auto w = MakeRunWindow("", "2026-11-01", "2026-11-02", SaoPaulo(), absl::Now());
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(ScopePredicate(*w, Utc(2026, 11, 20, 2)),
            "((r.created_at >= '2026-11-01 03:00:00.000000+00' AND r.created_at < "
            "'2026-11-03 03:00:00.000000+00') OR (r.created_at IS NULL AND r.updated_at >= "
            "'2026-11-01 03:00:00.000000+00' AND r.updated_at < '2026-11-03 03:00:00.000000+00'))");
}

}  // namespace
}  // namespace lastro::batch
