#include "ingest/event_file.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace lastro::ingest {
namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = 1 << 20;

Status ErrnoStatus(int err, const char* what, const fs::path& path) {
  std::string message = absl::StrCat(what, " ", path.string(), ": ", std::strerror(err));
  return err == ENOENT ? absl::NotFoundError(message) : absl::UnavailableError(message);
}

std::string Hex(const unsigned char* digest, unsigned size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

}  // namespace

StatusOr<std::vector<EventFile>> ListEventFiles(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat("no such file or folder: ", path.string()));
  }
  std::vector<EventFile> files;
  if (fs::is_regular_file(status)) {
    files.push_back(
        {path, path.filename().string(), static_cast<int64_t>(fs::file_size(path, ec))});
    return files;
  }
  if (!fs::is_directory(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), " is neither a file nor a folder"));
  }
  // Symlinked folders inside are not followed: a link loop cannot make the walk endless.
  fs::recursive_directory_iterator it(path, fs::directory_options::none, ec);
  for (; !ec && it != fs::end(it); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || it->path().extension() != ".jsonl") continue;
    files.push_back({it->path(), fs::relative(it->path(), path).generic_string(),
                     static_cast<int64_t>(it->file_size())});
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot list ", path.string(), ": ", ec.message()));
  }
  std::sort(files.begin(), files.end(),
            [](const EventFile& a, const EventFile& b) { return a.name < b.name; });
  return files;
}

// An incremental SHA-256 (OpenSSL EVP).
class Sha256State {
 public:
  Sha256State() : ctx(EVP_MD_CTX_new()) {
    ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
  }
  ~Sha256State() { EVP_MD_CTX_free(ctx); }
  Sha256State(const Sha256State&) = delete;
  Sha256State& operator=(const Sha256State&) = delete;
  void Update(const char* data, size_t n) { ok = ok && EVP_DigestUpdate(ctx, data, n) == 1; }
  std::string Hex() const {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    EVP_MD_CTX* copy = EVP_MD_CTX_new();
    const bool done = ok && copy != nullptr && EVP_MD_CTX_copy_ex(copy, ctx) == 1 &&
                      EVP_DigestFinal_ex(copy, digest, &size) == 1;
    EVP_MD_CTX_free(copy);
    return done ? ingest::Hex(digest, size) : "";
  }

 private:
  EVP_MD_CTX* ctx;
  bool ok = false;
};

StatusOr<std::string> Sha256Hex(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ErrnoStatus(errno, "cannot open", path);
  Sha256State hash;
  std::vector<char> chunk(kChunkBytes);
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), f)) > 0) hash.Update(chunk.data(), n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return ErrnoStatus(err, "cannot read", path);
  std::string hex = hash.Hex();
  if (hex.empty()) return absl::InternalError("OpenSSL SHA-256 failed");
  return hex;
}

LineReader::LineReader(std::FILE* file, size_t max_line_bytes)
    : file_(file),
      max_line_bytes_(max_line_bytes),
      hash_(std::make_unique<Sha256State>()),
      chunk_(kChunkBytes) {}

LineReader::~LineReader() { std::fclose(file_); }

StatusOr<std::unique_ptr<LineReader>> LineReader::Open(const fs::path& path,
                                                       size_t max_line_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ErrnoStatus(errno, "cannot open", path);
  return std::unique_ptr<LineReader>(new LineReader(f, std::max<size_t>(max_line_bytes, 1)));
}

Status LineReader::Fill() {
  pos_ = 0;
  end_ = std::fread(chunk_.data(), 1, chunk_.size(), file_);
  if (end_ < chunk_.size()) {
    if (std::ferror(file_)) return absl::UnavailableError("read error on an event file");
    eof_ = true;
  }
  hash_->Update(chunk_.data(), end_);
  return absl::OkStatus();
}

StatusOr<bool> LineReader::Next(Line& line) {
  line_.clear();
  int64_t bytes = 0;
  bool any = false;
  while (true) {
    if (pos_ == end_) {
      if (eof_) break;
      LASTRO_RETURN_IF_ERROR(Fill());
      if (pos_ == end_) break;
    }
    any = true;
    const char* start = chunk_.data() + pos_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
    const size_t n = nl ? static_cast<size_t>(nl - start) : end_ - pos_;
    if (line_.size() < max_line_bytes_) {
      line_.append(start, std::min(n, max_line_bytes_ - line_.size()));
    }
    bytes += static_cast<int64_t>(n);
    pos_ += n;
    if (nl) {
      ++pos_;
      break;
    }
  }
  if (!any) return false;
  line.text = line_;
  line.number = ++number_;
  line.bytes = bytes;
  line.too_long = static_cast<size_t>(bytes) > max_line_bytes_;
  return true;
}

std::string LineReader::Sha256Hex() const { return hash_->Hex(); }

}  // namespace lastro::ingest
