#include "governance/policies.h"

#include <absl/strings/str_format.h>
#include <absl/strings/str_join.h>
#include <sodium.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <set>
#include <type_traits>

#include "common/strict_toml.h"
#include "lake/engine.h"

namespace lastro::governance {
namespace {

using lake::SqlIdent;
using lake::SqlString;

constexpr std::array<std::string_view, 4> kClassNames = {"public", "internal", "sensitive", "pii"};
constexpr std::array<std::string_view, 6> kMaskNames = {"allow",     "hash", "partial",
                                                        "year_only", "null", "deny"};
constexpr std::array<std::string_view, 3> kKinds = {"dimension", "fact", "aggregate"};
constexpr std::array<std::string_view, 5> kTopKeys = {"version", "purposes", "roles", "row_filters",
                                                      "tables"};
constexpr std::array<std::string_view, 10> kRoleKeys = {
    "description", "purpose",     "tables",         "named",           "classes",
    "columns",     "row_filters", "min_group_size", "aggregates_only", "audit_log"};
constexpr std::array<std::string_view, 3> kTableKeys = {"kind", "group_size", "columns"};
constexpr std::array<std::string_view, 2> kFilterKeys = {"description", "customers"};

// absl's StrCat takes absl::string_view, which Debian's build does not alias to
// std::string_view (toml++ keys and this file's names are std::string_view).
template <typename T>
void AppendOne(std::string& out, const T& v) {
  if constexpr (std::is_arithmetic_v<T>) {
    out += std::to_string(v);
  } else {
    out += std::string_view(v);
  }
}
template <typename... A>
std::string Cat(const A&... a) {
  std::string out;
  (AppendOne(out, a), ...);
  return out;
}
template <typename... A>
void Append(std::string& out, const A&... a) {
  (AppendOne(out, a), ...);
}

// Roles, tables and columns appear in SQL and file names: plain identifiers only.
bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return !std::isdigit(static_cast<unsigned char>(s[0]));
}

template <size_t N>
int IndexOf(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<int>(i);
  }
  return -1;
}

class PoliciesParser : public strict_toml::ParserBase {
 public:
  explicit PoliciesParser(std::string source) : ParserBase(std::move(source)) {}

  StatusOr<Policies> Parse(const toml::table& root) {
    Policies p;
    LASTRO_RETURN_IF_ERROR(CheckKeys(root, kTopKeys, "unknown top-level key"));
    LASTRO_ASSIGN_OR_RETURN(p.version, Version(root));
    if (const toml::node* n = root.get("purposes")) {
      LASTRO_ASSIGN_OR_RETURN(const toml::table* t, Table(*n, "'purposes'"));
      for (const auto& [k, v] : *t) {
        LASTRO_ASSIGN_OR_RETURN(p.purposes[std::string(k.str())],
                                String(v, Cat("purpose '", k.str(), "'")));
      }
    }
    if (const toml::node* n = root.get("tables")) {
      LASTRO_ASSIGN_OR_RETURN(const toml::table* t, Table(*n, "'tables'"));
      for (const auto& [k, v] : *t) LASTRO_RETURN_IF_ERROR(ParseTable(k, v, p));
    }
    if (const toml::node* n = root.get("row_filters")) {
      LASTRO_ASSIGN_OR_RETURN(const toml::table* t, Table(*n, "'row_filters'"));
      for (const auto& [k, v] : *t) LASTRO_RETURN_IF_ERROR(ParseFilter(k, v, p));
    }
    const toml::node* roles = root.get("roles");
    if (roles == nullptr) return Err(1, "no [roles.<name>] section: a policy needs roles");
    LASTRO_ASSIGN_OR_RETURN(const toml::table* rt, Table(*roles, "'roles'"));
    for (const auto& [k, v] : *rt) LASTRO_RETURN_IF_ERROR(ParseRole(k, v, p));
    return p;
  }

 private:
  StatusOr<const toml::table*> Table(const toml::node& n, std::string_view what) const {
    if (!n.is_table()) {
      return Err(n, Cat(what, " must be a table, not ", strict_toml::TypeName(n)));
    }
    return n.as_table();
  }
  StatusOr<std::string> String(const toml::node& n, std::string_view what) const {
    if (!n.is_string() || n.as_string()->get().empty()) {
      return Err(n, Cat(what, " must be a non-empty string"));
    }
    return n.as_string()->get();
  }
  StatusOr<std::vector<std::string>> Strings(const toml::node& n, std::string_view what) const {
    if (!n.is_array()) return Err(n, Cat(what, " must be an array of strings"));
    std::vector<std::string> out;
    for (const toml::node& item : *n.as_array()) {
      LASTRO_ASSIGN_OR_RETURN(out.emplace_back(), String(item, what));
    }
    return out;
  }
  StatusOr<Mask> ParseMask(const toml::node& n, std::string_view what) const {
    LASTRO_ASSIGN_OR_RETURN(std::string s, String(n, what));
    int i = IndexOf(kMaskNames, s);
    if (i < 0) {
      return Err(n, Cat(what, ": unknown mask '", s, "'", strict_toml::Hint(s, kMaskNames)));
    }
    return static_cast<Mask>(i);
  }

  Status ParseTable(const toml::key& key, const toml::node& node, Policies& p) const {
    const std::string name(key.str());
    const std::string what = Cat("table '", name, "'");
    if (!ValidName(name)) return Err(key, Cat(what, ": not a plain lower-case name"));
    LASTRO_ASSIGN_OR_RETURN(const toml::table* t, Table(node, what));
    LASTRO_RETURN_IF_ERROR(CheckKeys(*t, kTableKeys, Cat(what, ": unknown key")));
    TablePolicy tp;
    tp.name = name;
    tp.line = static_cast<int>(key.source().begin.line);
    const toml::node* kind = t->get("kind");
    if (kind == nullptr) return Err(key, Cat(what, ": 'kind' is required"));
    LASTRO_ASSIGN_OR_RETURN(tp.kind, String(*kind, Cat(what, ": 'kind'")));
    if (IndexOf(kKinds, tp.kind) < 0) {
      return Err(*kind, Cat(what, ": kind '", tp.kind, "'", strict_toml::Hint(tp.kind, kKinds)));
    }
    const toml::node* cols = t->get("columns");
    if (cols == nullptr) return Err(key, Cat(what, ": 'columns' is required"));
    LASTRO_ASSIGN_OR_RETURN(const toml::table* ct, Table(*cols, Cat(what, ": 'columns'")));
    for (const auto& [ck, cv] : *ct) {
      const std::string cwhat = Cat("column '", name, ".", ck.str(), "'");
      if (!ValidName(ck.str())) return Err(ck, Cat(cwhat, ": not a plain lower-case name"));
      LASTRO_ASSIGN_OR_RETURN(std::string cls, String(cv, cwhat));
      int i = IndexOf(kClassNames, cls);
      if (i < 0) {
        return Err(cv,
                   Cat(cwhat, ": unknown class '", cls, "'", strict_toml::Hint(cls, kClassNames)));
      }
      tp.columns[std::string(ck.str())] = static_cast<ColumnClass>(i);
    }
    if (const toml::node* g = t->get("group_size")) {
      LASTRO_ASSIGN_OR_RETURN(tp.group_size, String(*g, Cat(what, ": 'group_size'")));
      if (tp.kind != "aggregate") return Err(*g, Cat(what, ": only an aggregate has a group_size"));
      if (!tp.columns.contains(tp.group_size)) {
        return Err(*g, Cat(what, ": group_size '", tp.group_size, "' is not one of its columns"));
      }
    }
    p.tables[name] = std::move(tp);
    return absl::OkStatus();
  }

  Status ParseFilter(const toml::key& key, const toml::node& node, Policies& p) const {
    const std::string name(key.str());
    const std::string what = Cat("row filter '", name, "'");
    if (!ValidName(name)) return Err(key, Cat(what, ": not a plain lower-case name"));
    LASTRO_ASSIGN_OR_RETURN(const toml::table* t, Table(node, what));
    LASTRO_RETURN_IF_ERROR(CheckKeys(*t, kFilterKeys, Cat(what, ": unknown key")));
    RowFilter f;
    f.name = name;
    if (const toml::node* d = t->get("description")) {
      LASTRO_ASSIGN_OR_RETURN(f.description, String(*d, Cat(what, ": 'description'")));
    }
    const toml::node* c = t->get("customers");
    if (c == nullptr)
      return Err(key, Cat(what, ": 'customers' (a SELECT of customer_id) is required"));
    LASTRO_ASSIGN_OR_RETURN(f.customers, String(*c, Cat(what, ": 'customers'")));
    if (f.customers.find(';') != std::string::npos) {
      return Err(*c, Cat(what, ": 'customers' is one SELECT, without ';'"));
    }
    p.row_filters[name] = std::move(f);
    return absl::OkStatus();
  }

  Status ParseRole(const toml::key& key, const toml::node& node, Policies& p) const {
    const std::string name(key.str());
    const std::string what = Cat("role '", name, "'");
    if (!ValidName(name)) return Err(key, Cat(what, ": not a plain lower-case name"));
    LASTRO_ASSIGN_OR_RETURN(const toml::table* t, Table(node, what));
    LASTRO_RETURN_IF_ERROR(CheckKeys(*t, kRoleKeys, Cat(what, ": unknown key")));
    RolePolicy r;
    r.name = name;
    if (const toml::node* d = t->get("description")) {
      LASTRO_ASSIGN_OR_RETURN(r.description, String(*d, Cat(what, ": 'description'")));
    }
    const toml::node* purpose = t->get("purpose");
    if (purpose == nullptr) return Err(key, Cat(what, ": 'purpose' is required (LGPD art. 6, I)"));
    LASTRO_ASSIGN_OR_RETURN(r.purpose, String(*purpose, Cat(what, ": 'purpose'")));
    if (!p.purposes.contains(r.purpose)) {
      return Err(*purpose, Cat(what, ": purpose '", r.purpose, "' is not under [purposes]"));
    }
    if (const toml::node* n = t->get("tables")) {
      LASTRO_ASSIGN_OR_RETURN(r.tables, Strings(*n, Cat(what, ": 'tables'")));
      for (const std::string& tn : r.tables) {
        if (tn == "*") continue;
        if (!p.tables.contains(tn)) {
          return Err(*n, Cat(what, ": table '", tn, "' is not under [tables]"));
        }
      }
    }
    if (const toml::node* n = t->get("named")) {
      LASTRO_ASSIGN_OR_RETURN(r.named, Strings(*n, Cat(what, ": 'named'")));
    }
    const toml::node* classes = t->get("classes");
    if (classes == nullptr)
      return Err(key, Cat(what, ": 'classes' (a mask per class) is required"));
    LASTRO_ASSIGN_OR_RETURN(const toml::table* ct, Table(*classes, Cat(what, ": 'classes'")));
    for (const auto& [ck, cv] : *ct) {
      int i = IndexOf(kClassNames, ck.str());
      if (i < 0) {
        return Err(ck, Cat(what, ": unknown class '", ck.str(), "'",
                           strict_toml::Hint(ck.str(), kClassNames)));
      }
      LASTRO_ASSIGN_OR_RETURN(r.classes[static_cast<ColumnClass>(i)],
                              ParseMask(cv, Cat(what, ": class '", ck.str(), "'")));
    }
    for (std::string_view c : kClassNames) {
      if (!ct->contains(c)) {
        return Err(*classes, Cat(what, ": class '", c, "' has no mask (every class needs one)"));
      }
    }
    if (const toml::node* n = t->get("columns")) {
      LASTRO_ASSIGN_OR_RETURN(const toml::table* ot, Table(*n, Cat(what, ": 'columns'")));
      for (const auto& [ok, ov] : *ot) {
        const std::string col(ok.str());
        const size_t dot = col.find('.');
        const std::string tn = dot == std::string::npos ? "" : col.substr(0, dot);
        auto tp = p.tables.find(tn);
        if (tp == p.tables.end() || !tp->second.columns.contains(col.substr(dot + 1))) {
          return Err(ok, Cat(what, ": column '", col,
                             "' is not a classified column (write table.column)"));
        }
        LASTRO_ASSIGN_OR_RETURN(r.columns[col], ParseMask(ov, Cat(what, ": column '", col, "'")));
      }
    }
    if (const toml::node* n = t->get("row_filters")) {
      LASTRO_ASSIGN_OR_RETURN(r.row_filters, Strings(*n, Cat(what, ": 'row_filters'")));
      for (const std::string& f : r.row_filters) {
        if (!p.row_filters.contains(f)) {
          return Err(*n, Cat(what, ": row filter '", f, "' is not under [row_filters]"));
        }
      }
    }
    if (const toml::node* n = t->get("min_group_size")) {
      LASTRO_RETURN_IF_ERROR(
          IntIn(*n, Cat(what, ": 'min_group_size'"), 0, 1000000, &r.min_group_size));
    }
    auto flag = [&](std::string_view k, bool* out) -> Status {
      if (const toml::node* n = t->get(k)) {
        if (!n->is_boolean()) return Err(*n, Cat(what, ": '", k, "' must be true or false"));
        *out = n->as_boolean()->get();
      }
      return absl::OkStatus();
    };
    LASTRO_RETURN_IF_ERROR(flag("aggregates_only", &r.aggregates_only));
    LASTRO_RETURN_IF_ERROR(flag("audit_log", &r.audit_log));
    if (r.aggregates_only) {
      for (const std::string& tn : r.tables) {
        if (tn == "*" || p.tables.at(tn).kind == "fact") {
          return Err(key, Cat(what, " is aggregates_only but lists '", tn,
                              "', which holds individual rows"));
        }
      }
    }
    p.roles[name] = std::move(r);
    return absl::OkStatus();
  }
};

bool IsText(const std::string& type) { return type == "VARCHAR"; }
bool IsTemporal(const std::string& type) { return type == "DATE" || type.starts_with("TIMESTAMP"); }

// Why `mask` cannot apply to a column of `type` ("" when it can).
std::string MaskMisfit(Mask mask, const std::string& type) {
  if (mask == Mask::kPartial && !IsText(type)) return "partial applies to text only";
  if (mask == Mask::kYearOnly && !IsTemporal(type))
    return "year_only applies to dates and timestamps only";
  return "";
}

std::string MaskExpr(Mask mask, const std::string& column, const std::string& type,
                     const std::string& hash_key) {
  const std::string c = SqlIdent(column);
  switch (mask) {
    case Mask::kAllow:
      return c;
    case Mask::kHash:
      // sha256 of key || value: the key is secret per role, so the value cannot be
      // found by hashing candidates (customer ids are small integers).
      return Cat("CASE WHEN ", c, " IS NULL THEN NULL ELSE substr(sha256(concat(",
                 SqlString(hash_key), ", CAST(", c, " AS VARCHAR))), 1, 32) END");
    case Mask::kPartial:
      return Cat("CASE WHEN ", c, " IS NULL THEN NULL ELSE concat(repeat('*', greatest(length(", c,
                 ") - 4, 0)), right(", c, ", 4)) END");
    case Mask::kYearOnly:
      return Cat("CAST(year(", c, ") AS INTEGER)");
    case Mask::kNull:
      return Cat("CAST(NULL AS ", type, ")");
    case Mask::kDeny:
      return "";
  }
  return "";
}

bool Matches(std::string_view pattern, std::string_view name) {
  if (pattern == "*" || pattern == name) return true;
  return pattern.ends_with(".*") && name.starts_with(pattern.substr(0, pattern.size() - 1));
}

const TableSchema* FindTable(const CatalogSchema& schema, std::string_view name) {
  for (const TableSchema& t : schema) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool HasColumn(const TableSchema& t, std::string_view column) {
  return std::any_of(t.columns.begin(), t.columns.end(),
                     [&](const auto& c) { return c.first == column; });
}

}  // namespace

std::string_view ClassName(ColumnClass c) { return kClassNames[static_cast<size_t>(c)]; }
std::string_view MaskName(Mask m) { return kMaskNames[static_cast<size_t>(m)]; }

StatusOr<const RolePolicy*> Policies::Role(std::string_view name) const {
  auto it = roles.find(std::string(name));
  if (it == roles.end()) return absl::NotFoundError(Cat("unknown role '", name, "'"));
  return &it->second;
}

bool Policies::MayRunNamed(const RolePolicy& role, std::string_view name) const {
  return std::any_of(role.named.begin(), role.named.end(),
                     [&](const std::string& p) { return Matches(p, name); });
}

StatusOr<Policies> ParsePolicies(std::string_view text, const std::string& source) {
  LASTRO_ASSIGN_OR_RETURN(toml::table root, strict_toml::Parse(text, source));
  PoliciesParser parser(source);
  LASTRO_ASSIGN_OR_RETURN(Policies p, parser.Parse(root));
  unsigned char digest[16];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(text.data()),
                     text.size(), nullptr, 0);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : digest) {
    p.digest.push_back(kHex[b >> 4]);
    p.digest.push_back(kHex[b & 15]);
  }
  return p;
}

StatusOr<Policies> LoadPolicies(const std::string& path) {
  LASTRO_ASSIGN_OR_RETURN(std::string text, strict_toml::ReadFile(path, "policies file"));
  return ParsePolicies(text, path);
}

std::string MaskKey(const std::string& secret, std::string_view role) {
  unsigned char key[crypto_generichash_KEYBYTES];
  crypto_generichash(key, sizeof key, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  const std::string input = Cat("lastro-mask/", role);
  unsigned char out[16];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(), key, sizeof key);
  std::string hex(2 * sizeof out + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), out, sizeof out);
  hex.pop_back();
  return hex;
}

std::vector<TableView> RoleTables(const Policies& policies, const RolePolicy& role,
                                  const CatalogSchema& schema, const std::string& hash_key) {
  const bool every = std::find(role.tables.begin(), role.tables.end(), "*") != role.tables.end();
  std::vector<TableView> out;
  for (const TableSchema& ts : schema) {
    auto tp = policies.tables.find(ts.name);
    const bool listed =
        every || std::find(role.tables.begin(), role.tables.end(), ts.name) != role.tables.end();
    if (!listed || tp == policies.tables.end()) continue;
    TableView view;
    view.table = ts.name;
    for (const auto& [name, type] : ts.columns) {
      ColumnView cv{.name = name, .type = type};
      auto cls = tp->second.columns.find(name);
      if (cls == tp->second.columns.end()) {
        view.problems.push_back(Cat(name, ": unclassified, withheld"));
        view.columns.push_back(cv);
        continue;
      }
      cv.classified = true;
      cv.cls = cls->second;
      auto over = role.columns.find(Cat(ts.name, ".", name));
      cv.mask = over != role.columns.end() ? over->second : role.classes.at(cv.cls);
      if (std::string misfit = MaskMisfit(cv.mask, type); !misfit.empty()) {
        view.problems.push_back(Cat(name, ": ", misfit, ", withheld"));
        cv.mask = Mask::kDeny;
      }
      cv.expr = MaskExpr(cv.mask, name, type, hash_key);
      view.columns.push_back(cv);
    }
    for (const std::string& f : role.row_filters) {
      const RowFilter& filter = policies.row_filters.at(f);
      if (HasColumn(ts, "customer_id")) {
        view.where.push_back(Cat("customer_id IN (", filter.customers, ")"));
      } else if (HasColumn(ts, "customer_sk")) {
        view.where.push_back(
            Cat("customer_sk IN (SELECT customer_sk FROM dim_customer WHERE customer_id IN (",
                filter.customers, "))"));
      } else {
        continue;  // an aggregate or a calendar: not about one customer
      }
      view.filters.push_back(f);
    }
    if (role.min_group_size > 0 && !tp->second.group_size.empty()) {
      view.where.push_back(Cat(SqlIdent(tp->second.group_size), " >= ", role.min_group_size));
    }
    out.push_back(std::move(view));
  }
  return out;
}

std::vector<std::string> CheckPolicies(const Policies& policies, const CatalogSchema& schema) {
  std::vector<std::string> problems;
  for (const TableSchema& ts : schema) {
    auto tp = policies.tables.find(ts.name);
    if (tp == policies.tables.end()) {
      problems.push_back(Cat("table ", ts.name, " is not classified: no role can read it"));
      continue;
    }
    for (const auto& [name, type] : ts.columns) {
      if (!tp->second.columns.contains(name)) {
        problems.push_back(
            Cat("column ", ts.name, ".", name, " has no class: withheld from every role"));
      }
    }
    if (!tp->second.group_size.empty() && !HasColumn(ts, tp->second.group_size)) {
      problems.push_back(Cat("table ", ts.name, ": group_size column '", tp->second.group_size,
                             "' is not in the catalog"));
    }
  }
  for (const auto& [name, tp] : policies.tables) {
    const TableSchema* ts = FindTable(schema, name);
    if (ts == nullptr) {
      problems.push_back(Cat("table ", name, " (line ", tp.line, ") is not in the catalog"));
      continue;
    }
    for (const auto& [col, cls] : tp.columns) {
      if (!HasColumn(*ts, col)) {
        problems.push_back(Cat("column ", name, ".", col, " is classified but not in the catalog"));
      }
    }
  }
  for (const auto& [rname, role] : policies.roles) {
    for (const TableView& v : RoleTables(policies, role, schema, "")) {
      for (const std::string& p : v.problems) {
        problems.push_back(Cat("role ", rname, ": ", v.table, ".", p));
      }
    }
  }
  return problems;
}

std::string DescribePolicies(const Policies& policies, const CatalogSchema* schema) {
  std::string out = Cat("policies version ", policies.version, "\n");
  for (const auto& [name, role] : policies.roles) {
    Append(out, "\nrole ", name, " - ", role.description, "\n  purpose: ", role.purpose, " (",
           policies.purposes.at(role.purpose), ")\n");
    if (role.aggregates_only) Append(out, "  aggregates only\n");
    if (role.min_group_size > 0) {
      Append(out, "  aggregate rows counting fewer than ", role.min_group_size,
             " individuals are withheld\n");
    }
    if (!role.named.empty())
      Append(out, "  named queries: ", absl::StrJoin(role.named, ", "), "\n");
    if (role.audit_log) Append(out, "  reads the audit log (audit_log)\n");
    if (schema == nullptr) {
      Append(out, "  tables: ", role.tables.empty() ? "none" : absl::StrJoin(role.tables, ", "),
             "\n");
      continue;
    }
    for (const TableView& v : RoleTables(policies, role, *schema, "")) {
      Append(out, "  ", v.table);
      if (!v.filters.empty()) Append(out, "  [rows: ", absl::StrJoin(v.filters, ", "), "]");
      Append(out, "\n");
      for (const ColumnView& c : v.columns) {
        Append(out,
               absl::StrFormat("    %-28s %-13s %-12s %s\n", c.name, c.type,
                               c.classified ? ClassName(c.cls) : "unclassified", MaskName(c.mask)));
      }
    }
  }
  return out;
}

}  // namespace lastro::governance
