// The access policies (config/policies.toml, docs/governance.md): roles, the class of
// every gold column, what each role gets of each class (masking), row filters, minimum
// group sizes and purposes. Policies are data: this file parses and validates them, and
// turns them, for one role and one catalog schema, into the exact SELECT list and
// WHERE clause of each table the role may read (RoleTables), which the role catalog
// materialises (role_catalog.h) and `lastro policy check` prints.
//
// Fail closed: a column without a class, or whose mask does not fit its type, is
// withheld from every role and reported as a problem.
//
// Pure functions and immutable values: thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lastro::governance {

enum class ColumnClass { kPublic, kInternal, kSensitive, kPii };
enum class Mask { kAllow, kHash, kPartial, kYearOnly, kNull, kDeny };

std::string_view ClassName(ColumnClass c);
std::string_view MaskName(Mask m);

struct TablePolicy {
  std::string name;
  std::string kind;        // dimension | fact | aggregate
  std::string group_size;  // aggregate: the column counting individuals ("" = none)
  std::map<std::string, ColumnClass> columns;
  int line = 0;  // where it is declared, for messages
};

struct RowFilter {
  std::string name, description;
  std::string customers;  // SELECT of the customer_ids kept
};

struct RolePolicy {
  std::string name, description, purpose;
  std::vector<std::string> tables;  // "*" = every classified table
  std::vector<std::string> named;   // named-query patterns: exact, "team.*" or "*"
  std::map<ColumnClass, Mask> classes;
  std::map<std::string, Mask> columns;  // "table.column" overrides
  std::vector<std::string> row_filters;
  int64_t min_group_size = 0;
  bool aggregates_only = false;  // only aggregate and dimension tables
  bool audit_log = false;        // reads the audit log (the `audit_log` view)
};

struct Policies {
  std::string version;
  std::string digest;  // of the file's text: names role catalogs built from it
  std::map<std::string, std::string> purposes;
  std::map<std::string, TablePolicy> tables;
  std::map<std::string, RowFilter> row_filters;
  std::map<std::string, RolePolicy> roles;

  // The role, or kNotFound "unknown role" (never listing the roles: callers may pass
  // it to clients).
  StatusOr<const RolePolicy*> Role(std::string_view name) const;
  // Whether `role` may run the named query `name`.
  bool MayRunNamed(const RolePolicy& role, std::string_view name) const;
};

// Parses the policies file's text; `source` names it in errors. Errors:
// kInvalidArgument "<source>:<line>: <reason>" for the first problem: syntax, unknown
// key (with a "did you mean"), unknown class or mask, a role naming an unknown table,
// purpose or row filter, a class without a mask, an aggregates-only role with a fact.
StatusOr<Policies> ParsePolicies(std::string_view text, const std::string& source);
// The file at `path`. Errors: as ParsePolicies, and kNotFound.
StatusOr<Policies> LoadPolicies(const std::string& path);

// A table of the catalog as DuckDB describes it: columns in order, with type names.
struct TableSchema {
  std::string name;
  std::vector<std::pair<std::string, std::string>> columns;  // name, DuckDB type
};
using CatalogSchema = std::vector<TableSchema>;

// What a role gets of one table: the columns (with their mask and SQL expression over
// the source table) and the row conditions.
struct ColumnView {
  std::string name, type;   // the source column and its type
  bool classified = false;  // false: withheld (fail closed)
  ColumnClass cls = ColumnClass::kPii;
  Mask mask = Mask::kDeny;
  std::string expr;  // SQL producing the column ("" when denied)
};
struct TableView {
  std::string table;
  std::vector<ColumnView> columns;    // every source column, denied ones included
  std::vector<std::string> filters;   // row filters applied (names)
  std::vector<std::string> where;     // SQL conditions, ANDed
  std::vector<std::string> problems;  // columns withheld for a policy error
};

// The tables `role` may read in `schema`, in schema order. `hash_key` keys the hash
// mask (hex; derive one per role: MaskKey). Tables absent from the schema are
// skipped (listed by CheckPolicies).
std::vector<TableView> RoleTables(const Policies& policies, const RolePolicy& role,
                                  const CatalogSchema& schema, const std::string& hash_key);

// Every problem of the policies against `schema` (empty = consistent): unclassified
// columns, classified columns or tables the catalog lacks, masks that do not fit a
// column's type, row filters that apply to none of a role's tables.
std::vector<std::string> CheckPolicies(const Policies& policies, const CatalogSchema& schema);

// The hash mask's key for `role`: 32 hex digits of a keyed BLAKE2b of the role's name
// under `secret` (the CPF tokenisation key). Roles get different keys, so their
// hashed identifiers cannot be joined with each other's.
std::string MaskKey(const std::string& secret, std::string_view role);

// `lastro policy check`'s report: per role, each table's columns with class and mask,
// its row filters and group threshold.
std::string DescribePolicies(const Policies& policies, const CatalogSchema* schema);

}  // namespace lastro::governance
