// The gold model as data: each sql/mart/NN_<table>.sql file is one SELECT producing one
// table, with a header that says how the table is refreshed:
//
//   -- table: fact_app_event
//   -- refresh: month event_date            (or: customer customer_id feature_date; or: full)
//   -- inputs: bronze/app_events +-1, fact_credit_request
//   -- customers: session_customer_id
//
// refresh  full      rebuilt whole at every refresh (small tables: dims, marts).
//          month C   partitioned by the month of date column C: an incremental refresh
//                    deletes and rebuilds only the months whose inputs changed. The
//                    SELECT must filter its rows with `refreshing(C-like expression)`.
//          customer K D  rebuilt per customer (key column K, date column D): for
//                    rolling, look-back values whose every later day depends on earlier
//                    ones. The SELECT filters its inputs with `refreshing(customer_id)`.
// inputs   lake sources ("zone/table", their changed partition days; "+-N" widens each
//          day by N days either side) and gold tables (their rebuilt months).
// customers  the column holding the customer id: months (or customers) holding rows of
//          a customer whose dim_customer versions changed are rebuilt too.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace lastro::mart {

enum class RefreshKind { kFull, kMonth, kCustomer };

struct ModelInput {
  std::string name;  // "bronze/app_events" (a lake source) or "fact_credit_request"
  int near_days = 0;
  bool is_source() const { return name.find('/') != std::string::npos; }
};

struct ModelTable {
  std::string file;  // "mart/22_fact_app_event.sql"
  std::string name;  // "fact_app_event"
  RefreshKind kind = RefreshKind::kFull;
  std::string key_column;   // month: the date column; customer: the customer id column
  std::string date_column;  // customer: the row's day (rows removed from changed days)
  std::vector<ModelInput> inputs;
  std::string customer_column;  // "" when customer changes do not matter
  std::string sql;              // the SELECT (the whole file)
};

// Parses one model file. Errors: kInternal naming the file and the bad header line (the
// files are embedded, so this is a build defect, caught by the unit tests).
StatusOr<ModelTable> ParseModelFile(const std::string& file, const std::string& sql);

// The embedded model's tables, in build order (file-name order).
StatusOr<std::vector<ModelTable>> ModelTables();

}  // namespace lastro::mart
