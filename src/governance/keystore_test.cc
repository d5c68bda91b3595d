#include "governance/keystore.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace lastro::governance {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOldKey = "1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* kNewKey = "2222222222222222222222222222222222222222222222222222222222222222";

MasterKey Master(const char* text) { return *MasterKey::Parse(text); }

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void WriteBytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

fs::path ShardPath(const fs::path& dir, int64_t customer) {
  char name[32];
  std::snprintf(name, sizeof name, "shard-%02x.bin", ShardOf(customer));
  return dir / name;
}

// The 72-byte wrapped key of `customer` in a shard file (format: keystore.h).
std::string WrappedKeyIn(const std::string& shard, int64_t customer) {
  for (size_t at = 40; at + 96 <= shard.size() - 32; at += 96) {
    int64_t id = 0;
    std::memcpy(&id, shard.data() + at, 8);
    if (id == customer) return shard.substr(at + 24, 72);
  }
  return "";
}

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lastro-keystore-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = KeysDir(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::unique_ptr<KeyStore> Open(const char* key = kOldKey) {
    auto s = KeyStore::Open(dir_, Master(key));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // Creates keys for customers 1..n, seals "pii-<id>" with each and saves.
  std::map<int64_t, std::string> Seeded(int n) {
    auto store = Open();
    std::map<int64_t, std::string> sealed;
    for (int64_t id = 1; id <= n; ++id) {
      auto key = store->KeyFor(id, true);
      EXPECT_TRUE(key.ok() && *key != nullptr);
      sealed[id] = (*key)->Seal(id, "email", "pii-" + std::to_string(id));
    }
    auto saved = store->Save();
    EXPECT_TRUE(saved.ok()) << saved.status();
    EXPECT_EQ(saved->keys_written, n);
    return sealed;
  }
  bool Opens(KeyStore& store, int64_t id, const std::string& sealed) {
    auto key = store.KeyFor(id, false);
    if (!key.ok() || *key == nullptr) return false;
    auto plain = (*key)->Open(id, "email", sealed);
    return plain.ok() && *plain == "pii-" + std::to_string(id);
  }

  fs::path root_, dir_;
};

TEST_F(KeyStoreTest, NewKeysAreDurableAfterSaveAndSpreadOverPrivateShards) {
  std::map<int64_t, std::string> sealed = Seeded(2000);
  auto store = Open();
  for (const auto& [id, s] : sealed) ASSERT_TRUE(Opens(*store, id, s)) << id;
  StoreSummary summary = store->Summary();
  EXPECT_EQ(summary.active, 2000);
  EXPECT_EQ(summary.erased, 0);
  std::set<int> shards;
  for (int64_t id = 1; id <= 2000; ++id) shards.insert(ShardOf(id));
  EXPECT_GT(shards.size(), 250u) << "consecutive ids spread over the shards";
  EXPECT_EQ(summary.shard_files, static_cast<int>(shards.size()));
  EXPECT_EQ(summary.master_key_id, Master(kOldKey).id());
  struct stat st {};
  ASSERT_EQ(::stat(ShardPath(dir_, 1).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // Nothing of a customer's key without Save(): a store that dies unsaved leaves none.
  {
    auto s = Open();
    ASSERT_TRUE(s->KeyFor(9999, true).ok());
    EXPECT_EQ(s->pending(), 1);
  }
  EXPECT_EQ(Open()->State(9999), KeyState::kNone);
}

TEST_F(KeyStoreTest, ErasureDestroysOneKeyLeavesOthersAndIsRemembered) {
  std::map<int64_t, std::string> sealed = Seeded(300);
  std::string before = ReadBytes(ShardPath(dir_, 5));
  std::string wrapped = WrappedKeyIn(before, 5);
  ASSERT_EQ(wrapped.size(), 72u);

  auto erased = EraseKey(dir_, Master(kOldKey), 5);
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_TRUE(erased->had_key);
  EXPECT_FALSE(erased->already_erased);
  // The shard no longer holds the wrapped key; nothing else in the store does either.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(ReadBytes(entry.path()).find(wrapped), std::string::npos) << entry.path();
  }

  auto store = Open();
  EXPECT_EQ(store->State(5), KeyState::kErased);
  EXPECT_FALSE(Opens(*store, 5, sealed[5]));
  auto again = store->KeyFor(5, /*create=*/true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, nullptr) << "an erased customer never gets a new key";
  for (const auto& [id, s] : sealed) {
    if (id != 5) {
      ASSERT_TRUE(Opens(*store, id, s)) << id;
    }
  }
  auto twice = EraseKey(dir_, Master(kOldKey), 5);
  ASSERT_TRUE(twice.ok());
  EXPECT_TRUE(twice->already_erased);
  EXPECT_EQ(twice->erased_at_micros, erased->erased_at_micros);

  // A customer who never had a key: the tombstone still stops future keys.
  auto never = EraseKey(dir_, Master(kOldKey), 777777);
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->had_key);
  auto reopened = Open();
  EXPECT_EQ(*reopened->KeyFor(777777, true), nullptr);
  EXPECT_EQ(reopened->Summary().erased, 2);
}

TEST_F(KeyStoreTest, AnErasureDuringARunWinsOverTheRunsNewKey) {
  Seeded(10);
  auto run = Open();
  ASSERT_NE(*run->KeyFor(500, true), nullptr);
  ASSERT_NE(*run->KeyFor(501, true), nullptr);
  ASSERT_TRUE(EraseKey(dir_, Master(kOldKey), 500).ok());
  auto saved = run->Save();
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->keys_written, 1);
  EXPECT_EQ(saved->erased_meanwhile, 1);
  EXPECT_EQ(*run->KeyFor(500, true), nullptr);
  auto store = Open();
  EXPECT_EQ(store->State(500), KeyState::kErased);
  EXPECT_EQ(store->State(501), KeyState::kActive);
}

TEST_F(KeyStoreTest, TwoRunsCreatingTheSameCustomersKeyTheSecondAborts) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a->KeyFor(11, true).ok());
  ASSERT_TRUE(b->KeyFor(11, true).ok());
  ASSERT_TRUE(a->Save().ok());
  auto saved = b->Save();
  EXPECT_TRUE(absl::IsAborted(saved.status())) << saved.status();
}

TEST_F(KeyStoreTest, AWrongMasterKeyIsNamedAndATamperedShardRefused) {
  Seeded(50);
  auto wrong = KeyStore::Open(dir_, Master(kNewKey));
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(wrong.status()));
  EXPECT_NE(wrong.status().message().find("not the key"), std::string_view::npos) << wrong.status();

  fs::path shard = ShardPath(dir_, 3);
  std::string good = ReadBytes(shard);
  for (size_t at : {size_t{20}, size_t{40 + 8}, good.size() / 2, good.size() - 1}) {
    std::string bad = good;
    bad[at] ^= 1;
    WriteBytes(shard, bad);
    auto s = KeyStore::Open(dir_, Master(kOldKey));
    EXPECT_TRUE(absl::IsDataLoss(s.status())) << at << ": " << s.status();
  }
  WriteBytes(shard, good.substr(0, good.size() - 96));  // a record cut off
  EXPECT_TRUE(absl::IsDataLoss(KeyStore::Open(dir_, Master(kOldKey)).status()));
  WriteBytes(shard, good);
  EXPECT_TRUE(KeyStore::Open(dir_, Master(kOldKey)).ok());
}

TEST_F(KeyStoreTest, RotationRewrapsEveryKeyLeavesDataAloneAndResumes) {
  std::map<int64_t, std::string> sealed = Seeded(400);
  ASSERT_TRUE(EraseKey(dir_, Master(kOldKey), 7).ok());
  fs::path kept = ShardPath(dir_, 1);
  std::string old_shard = ReadBytes(kept);
  int files = Open()->Summary().shard_files;

  auto rotated = RotateMasterKey(dir_, Master(kOldKey), Master(kNewKey));
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(*rotated, files);
  EXPECT_FALSE(KeyStore::Open(dir_, Master(kOldKey)).ok());
  auto store = Open(kNewKey);
  for (const auto& [id, s] : sealed) {
    if (id != 7) {
      ASSERT_TRUE(Opens(*store, id, s)) << id;
    }
  }
  EXPECT_EQ(store->State(7), KeyState::kErased) << "tombstones survive the rotation";

  // A rotation killed half-way: one shard still under the old key.
  WriteBytes(kept, old_shard);
  auto half = KeyStore::Open(dir_, Master(kNewKey));
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("half-rotated"), std::string_view::npos) << half.status();
  auto resumed = RotateMasterKey(dir_, Master(kOldKey), Master(kNewKey));
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(*resumed, 1);
  ASSERT_TRUE(Opens(*Open(kNewKey), 1, sealed[1]));
  EXPECT_TRUE(
      absl::IsInvalidArgument(RotateMasterKey(dir_, Master(kNewKey), Master(kNewKey)).status()));
}

TEST_F(KeyStoreTest, AWriterWaitsForTheLockThenGivesUpWithUnavailable) {
  Seeded(3);
  int fd = ::open((dir_ / "LOCK").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  auto erased = EraseKey(dir_, Master(kOldKey), 2, {.lock_timeout = std::chrono::milliseconds(50)});
  EXPECT_TRUE(absl::IsUnavailable(erased.status())) << erased.status();
  ::close(fd);
  EXPECT_TRUE(EraseKey(dir_, Master(kOldKey), 2).ok());
}

}  // namespace
}  // namespace lastro::governance
