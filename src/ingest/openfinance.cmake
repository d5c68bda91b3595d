# Open Finance bank data into bronze (`lastro ingest openfinance`, docs/openfinance.md):
# the API client (with the risk client's resilience), the per-consent pull, the bronze
# writer, the watermark state and the run itself.
lastro_library(lastro_ingest_openfinance
  SOURCES openfinance_records.cc openfinance_client.cc openfinance_pull.cc
          openfinance_state.cc openfinance_bronze.cc openfinance_ingest.cc
  DEPS lastro_risk lastro_lake lastro_pg lastro_lineage lastro_common absl::time
       nlohmann_json::nlohmann_json CURL::libcurl)

# Parsing edge cases; the client and the pull against the real simulator on loopback
# (tests only: production code never depends on sim/); the bronze writer against a
# real lake folder and DuckDB.
lastro_test(ingest_openfinance_test
  SOURCES openfinance_records_test.cc openfinance_client_test.cc openfinance_bronze_test.cc
  DEPS lastro_ingest_openfinance lastro_sim_openfinance)
