# App usage events (`lastro ingest events`, docs/ingest-events.md): the JSON-lines
# contract (event_line.h), the collector's files (event_file.h), the DuckDB staging and
# Parquet outputs (event_bronze.h), parallel parsing (event_stage.h) and the run
# (event_ingest.h).
find_package(OpenSSL REQUIRED)
lastro_library(lastro_ingest_events
  SOURCES event_line.cc event_file.cc event_bronze.cc event_stage.cc event_ingest.cc
  DEPS lastro_lake lastro_lineage lastro_common absl::time absl::strings
       nlohmann_json::nlohmann_json OpenSSL::Crypto)

lastro_test(ingest_events_test
  SOURCES event_line_test.cc event_file_test.cc event_ingest_test.cc
  DEPS lastro_ingest_events)
# Tests read their line cases from src/ingest/testdata/.
target_compile_definitions(ingest_events_test PRIVATE
  LASTRO_INGEST_TESTDATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/testdata")
