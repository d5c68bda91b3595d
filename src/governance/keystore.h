// The per-customer key store: each customer's data key wrapped under the master key,
// and a tombstone for every erased customer, in `<state_dir>/keys/` (governance
// state, outside the lake and never copied with it). Design: docs/governance.md,
// "Encryption and keys"; ADR 0023.
//
// Layout: 256 shard files, `shard-00.bin` … `shard-ff.bin`; a customer's shard is a
// hash of its id (ShardOf). A shard is rewritten whole, atomically (write aside,
// fsync, rename, fsync the folder), so erasing one customer rewrites one file of
// about 1/256 of the store. A shard file:
//
//   "LASTROKS" | format u32 (1) | shard u32 | record count u64 | master key id (16 hex)
//   records, sorted by customer id, 96 bytes each:
//     customer id i64 | state u8 (1 active, 2 erased) | 3 zero bytes | key version u32 |
//     created_at / erased_at (µs since 1970, i64) | wrapped data key (72 bytes; zeros
//     when erased)
//   BLAKE2b-256 of everything above, keyed by the master key's MAC subkey
//
// (integers little-endian). The MAC makes a truncated, corrupted or edited file
// (a tombstone removed, a record swapped) fail to load; the id names the master key
// the file was written under, so a wrong LASTRO_MASTER_KEY says so.
//
// Writers take `keys/LOCK` (flock): a batch saving new keys, an erasure and a master
// key rotation never interleave. Readers need no lock (files are replaced by rename).
//
// Thread safety: a KeyStore is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "governance/envelope.h"

namespace lastro::governance {

inline constexpr int kShards = 256;

// The shard of a customer: the low byte of a 64-bit mix (splitmix64's finaliser) of
// the id, so consecutive ids spread over every shard.
int ShardOf(int64_t customer_id);

// `<state_dir>/keys`.
std::filesystem::path KeysDir(const std::filesystem::path& state_dir);

enum class KeyState { kNone, kActive, kErased };

struct KeyStoreOptions {
  // How long a writer waits for keys/LOCK before giving up with kUnavailable.
  std::chrono::milliseconds lock_timeout{30000};
  // The clock of created_at / erased_at (microseconds since 1970); injected by tests.
  std::function<int64_t()> now_micros;
};

// What Save() did.
struct SaveResult {
  int64_t keys_written = 0;  // new data keys now durable
  int shards_written = 0;
  // New keys dropped because their customer was erased while this store was open:
  // whatever was sealed with them is unreadable, as an erased customer's data must be.
  int64_t erased_meanwhile = 0;
};

// What EraseKey() did.
struct EraseOutcome {
  bool had_key = false;         // a data key existed and was destroyed
  bool already_erased = false;  // a tombstone was there already: nothing changed
  int64_t erased_at_micros = 0;
};

struct StoreSummary {
  std::string master_key_id;  // "" when the store is empty
  int shard_files = 0;
  int64_t active = 0, erased = 0;
};

class KeyStore {
 public:
  // Reads every shard under `dir` (a missing folder or shard is empty) and checks
  // each file's MAC. Errors: kFailedPrecondition when a shard was written under
  // another master key (the message gives both ids; a half-done rotation is named as
  // such), kDataLoss when a shard is corrupt or was altered, kUnavailable on I/O
  // errors.
  static StatusOr<std::unique_ptr<KeyStore>> Open(const std::filesystem::path& dir,
                                                  const MasterKey& master,
                                                  KeyStoreOptions options = {});
  ~KeyStore();

  KeyState State(int64_t customer_id) const;
  // When the customer's key was created, or when they were erased (µs since 1970);
  // 0 for kNone.
  int64_t RecordedAtMicros(int64_t customer_id) const;

  // The customer's data key, unwrapped once and cached. With `create`, a customer
  // with no key gets a new random one, held in memory until Save(). nullptr for an
  // erased customer (never a new key for them), and for one without a key when
  // `create` is false. The pointer stays valid until the store dies.
  // Errors: kDataLoss when the wrapped key does not open (the MAC was checked at
  // Open(), so only a bug or memory corruption gets here).
  StatusOr<const DataKey*> KeyFor(int64_t customer_id, bool create);

  // Makes every key created since Open() durable: under the lock, each touched shard
  // is read again, merged (records written by others win; a customer erased meanwhile
  // loses the new key) and rewritten atomically. Call before publishing anything
  // sealed with the new keys. Errors: kAborted when another process created a key
  // for one of the same customers or rotated the master key meanwhile (nothing
  // sealed in this run may be published: run again), kUnavailable (I/O, lock
  // timeout), and Open()'s errors for the shards read again.
  StatusOr<SaveResult> Save();

  int64_t pending() const;  // keys created and not yet saved

  // Counts of active keys and tombstones, as loaded (plus keys pending).
  StoreSummary Summary() const;

 private:
  struct Impl;
  explicit KeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Crypto-shredding: under the lock, replaces the customer's record by a tombstone
// (the wrapped key is gone from the new shard file) and makes it durable. Works for a
// customer who never had a key (the tombstone keeps future batches from creating
// one). Idempotent: erasing twice says already_erased. Errors: as Open() for that
// shard; kUnavailable (I/O, lock timeout).
StatusOr<EraseOutcome> EraseKey(const std::filesystem::path& dir, const MasterKey& master,
                                int64_t customer_id, const KeyStoreOptions& options = {});

// Re-wraps every data key from `current` to `next` (the data keys and the data sealed
// with them do not change), shard by shard, each rewritten atomically, under the
// lock. Resumable: shards already under `next` are skipped, so a rotation killed
// half-way is finished by running it again with the same two keys. Returns the
// number of shards rewritten. Errors: kInvalidArgument when both keys are the same,
// kFailedPrecondition for a shard under neither key, Open()'s other errors.
StatusOr<int> RotateMasterKey(const std::filesystem::path& dir, const MasterKey& current,
                              const MasterKey& next, const KeyStoreOptions& options = {});

}  // namespace lastro::governance
