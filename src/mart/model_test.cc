// The model files' headers: how each gold table says it is refreshed.
#include "mart/model.h"

#include <gtest/gtest.h>

#include <set>

namespace lastro::mart {
namespace {

TEST(ModelTest, ParsesAMonthTableWithInputsAndCustomers) {
  auto t = ParseModelFile("mart/x.sql",
                          "-- table: fact_x\n-- refresh: month event_date\n"
                          "-- inputs: bronze/app_events +-1, fact_y\n"
                          "-- customers: session_customer_id\n"
                          "SELECT 1 WHERE refreshing(event_date);\n\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name, "fact_x");
  EXPECT_EQ(t->kind, RefreshKind::kMonth);
  EXPECT_EQ(t->key_column, "event_date");
  ASSERT_EQ(t->inputs.size(), 2u);
  EXPECT_EQ(t->inputs[0].name, "bronze/app_events");
  EXPECT_EQ(t->inputs[0].near_days, 1);
  EXPECT_TRUE(t->inputs[0].is_source());
  EXPECT_FALSE(t->inputs[1].is_source());
  EXPECT_EQ(t->customer_column, "session_customer_id");
  EXPECT_EQ(t->sql.back(), ')');  // the trailing ';' is dropped: the builder wraps it
}

TEST(ModelTest, RefusesMalformedHeaders) {
  for (const char* sql : {
           "SELECT 1",                                                    // no table
           "-- table: t\n-- refresh: weekly d\nSELECT 1",                 // unknown refresh
           "-- table: t\n-- refresh: month d\nSELECT 1",                  // no inputs
           "-- table: t\n-- refresh: month d\n-- inputs: a/b\nSELECT 1",  // no refreshing()
           "-- table: t\n-- refresh: month d\n-- inputs: a/b +1\nSELECT refreshing(d)",
       }) {
    EXPECT_FALSE(ParseModelFile("mart/x.sql", sql).ok()) << sql;
  }
}

TEST(ModelTest, EveryEmbeddedFileParsesAndInputsComeFirst) {
  auto tables = ModelTables();
  ASSERT_TRUE(tables.ok()) << tables.status();
  std::set<std::string> built;
  for (const ModelTable& t : *tables) {
    for (const ModelInput& in : t.inputs) {
      if (!in.is_source()) {
        EXPECT_TRUE(built.contains(in.name)) << t.name << " <- " << in.name;
      }
    }
    if (!t.customer_column.empty()) {
      EXPECT_TRUE(built.contains("dim_customer")) << t.name;
    }
    EXPECT_TRUE(built.insert(t.name).second) << "two files build " << t.name;
  }
  EXPECT_TRUE(built.contains("fact_credit_request"));
}

}  // namespace
}  // namespace lastro::mart
