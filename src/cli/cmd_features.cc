// `lastro features export --training` (docs/model.md, "Training set").
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "mart/features_export.h"

namespace lastro::cli {

void RegisterFeatures(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* features =
      app.add_subcommand("features", "Feature sets for the models, from the published catalog");
  features->require_subcommand(1);

  static mart::TrainingExportOptions options;
  static bool training = false;
  CLI::App* e = features->add_subcommand(
      "export", "Write the point-in-time training set (one row per credit request) to a file");
  e->add_option("--config", flags.config_path, "TOML config file (or LASTRO_CONFIG)");
  e->add_flag("--training", training, "The credit model's training set (the one export so far)");
  e->add_option("--from", options.from, "First request day YYYY-MM-DD (inclusive)");
  e->add_option("--to", options.to, "Last request day YYYY-MM-DD (inclusive)");
  e->add_option("--out", options.out, "File to write (replaced when it exists)");
  e->add_option("--format", options.format, "parquet | csv")->capture_default_str();
  e->callback([&] {
    auto body = [&]() -> Status {
      if (!training) {
        return absl::InvalidArgumentError("lastro features export: say which set (--training)");
      }
      LASTRO_ASSIGN_OR_RETURN(Config config, LoadConfigFor(flags));
      LASTRO_ASSIGN_OR_RETURN(mart::TrainingExportResult result,
                              mart::ExportTrainingSet(config, options));
      auto date_or_null = [](const std::string& d) {
        return d.empty() ? nlohmann::json(nullptr) : nlohmann::json(d);
      };
      nlohmann::json out = {{"set", "training"},
                            {"rows", result.rows},
                            {"requests_without_features", result.requests_without_features},
                            {"from", date_or_null(options.from)},
                            {"to", date_or_null(options.to)},
                            {"catalog_version", result.catalog_version},
                            {"format", options.format},
                            {"out", result.out}};
      std::printf("%s\n", out.dump().c_str());
      return absl::OkStatus();
    };
    exit_code = Finish(body());
  });
}

}  // namespace lastro::cli
