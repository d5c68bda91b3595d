#include "decide/request_row.h"

#include <gtest/gtest.h>

namespace lastro::decide {
namespace {

using capture::TupleColumn;

capture::Relation Requests(std::vector<std::string> names) {
  capture::Relation r;
  r.relid = 1;
  r.namespace_name = "public";
  r.name = "credit_requests";
  for (auto& n : names) r.columns.push_back({0, n, 25, -1});
  return r;
}

TupleColumn Text(std::string v) { return {TupleColumn::Kind::kText, std::move(v)}; }
TupleColumn Null() { return {TupleColumn::Kind::kNull, ""}; }

const std::vector<std::string> kColumns = {
    "id",      "customer_id",           "amount_cents", "term_months", "purpose",
    "channel", "declared_income_cents", "status",       "version",     "created_at"};

capture::TupleData Row() {
  return {{Text("42"), Text("7"), Text("500000"), Text("12"), Text("personal"), Text("app_ios"),
           Null(), Text("PENDING"), Text("1"), Text("2026-11-29 10:00:00.5+00")}};
}

TEST(RequestRow, ParsesByColumnName) {
  auto r = ParseRequestRow(Requests(kColumns), Row());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, 42);
  EXPECT_EQ(r->customer_id, 7);
  EXPECT_EQ(r->amount_cents, 500000);
  EXPECT_EQ(r->term_months, 12);
  EXPECT_EQ(r->channel, "app_ios");
  EXPECT_FALSE(r->declared_income_cents.has_value());
  EXPECT_EQ(r->status, "PENDING");
  EXPECT_EQ(r->created_at_us, 1795946400500000);
}

TEST(RequestRow, FollowsAnAddedColumn) {
  auto cols = kColumns;
  cols.insert(cols.begin() + 3, "promo_code");
  auto row = Row();
  row.columns.insert(row.columns.begin() + 3, Text("BLACKFRIDAY"));
  auto r = ParseRequestRow(Requests(cols), row);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->term_months, 12);
}

TEST(RequestRow, MissingOrBadColumnIsInvalidArgumentNamingIt) {
  auto cols = kColumns;
  cols.erase(cols.begin() + 5);  // channel
  auto row = Row();
  row.columns.erase(row.columns.begin() + 5);
  auto r = ParseRequestRow(Requests(cols), row);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_NE(r.status().message().find("channel"), std::string::npos);

  auto bad = Row();
  bad.columns[2] = Text("12x");
  r = ParseRequestRow(Requests(kColumns), bad);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_NE(r.status().message().find("amount_cents"), std::string::npos);

  auto null_id = Row();
  null_id.columns[0] = Null();
  EXPECT_TRUE(absl::IsInvalidArgument(ParseRequestRow(Requests(kColumns), null_id).status()));
}

TEST(RequestRow, TupleOfAnotherShapeIsRefused) {
  auto row = Row();
  row.columns.pop_back();
  EXPECT_FALSE(ParseRequestRow(Requests(kColumns), row).ok());
}

TEST(RequestRow, RecognisesOnlyTheCreditRequestsTable) {
  auto r = Requests(kColumns);
  EXPECT_TRUE(IsCreditRequests(r));
  r.name = "credit_decisions";
  EXPECT_FALSE(IsCreditRequests(r));
}

}  // namespace
}  // namespace lastro::decide
