#include "mart/catalog_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace lastro::mart {
namespace {
namespace fs = std::filesystem;

fs::path FreshDir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("mart_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void Build(CatalogStore& store, const std::string& version, int keep) {
  auto dir = store.Stage(version);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::ofstream(*dir / "catalog.duckdb") << version;
  ASSERT_TRUE(store.Publish(version, keep).ok());
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

TEST(CatalogStore, PublishSwapsThePointerAndKeepsTheNewestVersions) {
  fs::path root = FreshDir("publish");
  CatalogStore store(root);
  EXPECT_EQ(store.CurrentVersion(), "");
  Build(store, "v1", 2);
  EXPECT_EQ(Read(store.DatabasePath()), "v1");
  Build(store, "v2", 2);
  Build(store, "v3", 2);
  EXPECT_EQ(store.CurrentVersion(), "v3");
  EXPECT_EQ(Read(store.DatabasePath()), "v3");
  EXPECT_EQ(store.Versions(), (std::vector<std::string>{"v2", "v3"}));
  EXPECT_TRUE(fs::is_symlink(store.PointerPath()));
  EXPECT_FALSE(fs::exists(root / "_catalog" / "staging" / "v3"));
  fs::remove_all(root);
}

TEST(CatalogStore, RollbackGoesToThePreviousVersionAndStopsAtTheOldest) {
  fs::path root = FreshDir("rollback");
  CatalogStore store(root);
  EXPECT_TRUE(absl::IsFailedPrecondition(store.Rollback().status()));
  Build(store, "v1", 3);
  Build(store, "v2", 3);
  auto back = store.Rollback();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "v1");
  EXPECT_EQ(Read(store.DatabasePath()), "v1");
  EXPECT_TRUE(absl::IsFailedPrecondition(store.Rollback().status()));
  fs::remove_all(root);
}

TEST(CatalogStore, StageRemovesLeftoversOfAKilledRefresh) {
  fs::path root = FreshDir("stage");
  CatalogStore store(root);
  auto killed = store.Stage("v1");
  ASSERT_TRUE(killed.ok());
  std::ofstream(*killed / "catalog.duckdb") << "half";
  auto next = store.Stage("v2");
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(fs::exists(*killed));
  EXPECT_EQ(store.CurrentVersion(), "");
  fs::remove_all(root);
}

}  // namespace
}  // namespace lastro::mart
