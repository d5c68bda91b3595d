#include "decide/lsn_tracker.h"

#include <gtest/gtest.h>

namespace lastro::decide {
namespace {

TEST(LsnTracker, EmptyTransactionsConfirmAtOnce) {
  LsnTracker t;
  t.Commit(100, 0);
  EXPECT_EQ(t.confirmed(), 100u);
}

TEST(LsnTracker, WaitsForEveryRequestOfATransaction) {
  LsnTracker t;
  t.Commit(100, 2);
  t.Done(100);
  EXPECT_EQ(t.confirmed(), 0u);
  t.Done(100);
  EXPECT_EQ(t.confirmed(), 100u);
}

TEST(LsnTracker, LaterTransactionDoneFirstDoesNotAdvancePastEarlierOne) {
  LsnTracker t;
  t.Commit(100, 1);
  t.Commit(200, 1);
  t.Commit(300, 0);
  t.Done(200);
  EXPECT_EQ(t.confirmed(), 0u);
  t.Done(100);
  EXPECT_EQ(t.confirmed(), 300u);
}

TEST(LsnTracker, IdleAdvancesOnlyWhenNothingOutstanding) {
  LsnTracker t;
  t.Commit(100, 1);
  t.Idle(500);
  EXPECT_EQ(t.confirmed(), 0u);
  t.Done(100);
  t.Idle(500);
  EXPECT_EQ(t.confirmed(), 500u);
}

TEST(LsnTracker, ResentAndUnknownPositionsAreIgnored) {
  LsnTracker t;
  t.Commit(100, 0);
  t.Commit(100, 1);  // already confirmed: a resend after reconnect
  EXPECT_EQ(t.outstanding(), 0u);
  t.Done(42);  // never registered
  t.Commit(200, 1);
  t.Reset(150);
  t.Done(200);  // from before the reset
  EXPECT_EQ(t.confirmed(), 150u);
  EXPECT_EQ(t.outstanding(), 0u);
}

}  // namespace
}  // namespace lastro::decide
