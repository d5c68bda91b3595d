#include "lake/source_function.h"

#include <string>
#include <vector>

namespace lastro::lake::internal {
namespace {

duckdb_type DuckType(ColumnType t) {
  switch (t) {
    case ColumnType::kBigint:
      return DUCKDB_TYPE_BIGINT;
    case ColumnType::kInteger:
      return DUCKDB_TYPE_INTEGER;
    case ColumnType::kDouble:
      return DUCKDB_TYPE_DOUBLE;
    case ColumnType::kBoolean:
      return DUCKDB_TYPE_BOOLEAN;
    case ColumnType::kVarchar:
      return DUCKDB_TYPE_VARCHAR;
    case ColumnType::kTimestamp:
      return DUCKDB_TYPE_TIMESTAMP;
    case ColumnType::kDate:
      return DUCKDB_TYPE_DATE;
    case ColumnType::kBlob:
      return DUCKDB_TYPE_BLOB;
  }
  return DUCKDB_TYPE_VARCHAR;
}

// Writes straight into the output chunk's vectors.
class VectorWriter final : public ChunkWriter {
 public:
  VectorWriter(duckdb_data_chunk chunk, const std::vector<SourceColumn>& columns)
      : columns_(columns) {
    for (size_t c = 0; c < columns.size(); ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
      vectors_.push_back(v);
      data_.push_back(duckdb_vector_get_data(v));
      validity_.push_back(nullptr);
    }
  }
  size_t capacity() const override { return duckdb_vector_size(); }
  void SetNull(size_t c, size_t row) override {
    if (validity_[c] == nullptr) {
      duckdb_vector_ensure_validity_writable(vectors_[c]);
      validity_[c] = duckdb_vector_get_validity(vectors_[c]);
    }
    duckdb_validity_set_row_invalid(validity_[c], row);
  }
  void SetInt(size_t c, size_t row, int64_t v) override {
    if (columns_[c].type == ColumnType::kInteger) {
      static_cast<int32_t*>(data_[c])[row] = static_cast<int32_t>(v);
    } else {
      static_cast<int64_t*>(data_[c])[row] = v;
    }
  }
  void SetDouble(size_t c, size_t row, double v) override {
    static_cast<double*>(data_[c])[row] = v;
  }
  void SetBool(size_t c, size_t row, bool v) override { static_cast<bool*>(data_[c])[row] = v; }
  // VARCHAR and BLOB vectors store their values alike (duckdb_string_t).
  void SetText(size_t c, size_t row, std::string_view v) override {
    duckdb_vector_assign_string_element_len(vectors_[c], row, v.data(), v.size());
  }
  void SetTimestampMicros(size_t c, size_t row, int64_t micros) override {
    static_cast<int64_t*>(data_[c])[row] = micros;
  }
  void SetDate(size_t c, size_t row, int32_t days) override {
    static_cast<int32_t*>(data_[c])[row] = days;
  }

 private:
  const std::vector<SourceColumn>& columns_;
  std::vector<duckdb_vector> vectors_;
  std::vector<void*> data_;
  std::vector<uint64_t*> validity_;
};

void Bind(duckdb_bind_info info) {
  auto* slot = static_cast<SourceSlot*>(duckdb_bind_get_extra_info(info));
  if (slot->source == nullptr) {
    duckdb_bind_set_error(info, "lastro_source() is readable only inside ExecuteWithSource()");
    return;
  }
  for (const SourceColumn& c : slot->source->columns()) {
    duckdb_logical_type type = duckdb_create_logical_type(DuckType(c.type));
    duckdb_bind_add_result_column(info, c.name.c_str(), type);
    duckdb_destroy_logical_type(&type);
  }
}

void Init(duckdb_init_info info) {
  duckdb_init_set_max_threads(info, 1);  // one stream, read in order
}

void Produce(duckdb_function_info info, duckdb_data_chunk output) {
  auto* slot = static_cast<SourceSlot*>(duckdb_function_get_extra_info(info));
  if (slot->source == nullptr) {
    duckdb_function_set_error(info, "lastro_source(): no source");
    return;
  }
  VectorWriter writer(output, slot->source->columns());
  StatusOr<size_t> rows = slot->source->Fill(writer);
  if (!rows.ok()) {
    slot->error = rows.status();
    std::string message(rows.status().message());
    duckdb_function_set_error(info, message.c_str());
    return;
  }
  duckdb_data_chunk_set_size(output, *rows);
}

}  // namespace

Status RegisterSourceFunction(duckdb_connection conn, SourceSlot* slot) {
  duckdb_table_function fn = duckdb_create_table_function();
  duckdb_table_function_set_name(fn, "lastro_source");
  duckdb_table_function_set_extra_info(fn, slot, nullptr);
  duckdb_table_function_set_bind(fn, Bind);
  duckdb_table_function_set_init(fn, Init);
  duckdb_table_function_set_function(fn, Produce);
  duckdb_state state = duckdb_register_table_function(conn, fn);
  duckdb_destroy_table_function(&fn);
  if (state != DuckDBSuccess) return absl::InternalError("cannot register lastro_source()");
  return absl::OkStatus();
}

}  // namespace lastro::lake::internal
