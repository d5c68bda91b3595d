// Writes the pgoutput fuzz seed corpus: one file per message of
// <testdata>/*.hex (the captured fixtures), named <fixture>-<line>.
// Usage: pgoutput_fuzz_seeds TESTDATA_DIR OUTPUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TESTDATA_DIR OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  namespace fs = std::filesystem;
  fs::create_directories(argv[2]);
  int written = 0;
  for (const auto& entry : fs::directory_iterator(argv[1])) {
    if (entry.path().extension() != ".hex") continue;
    std::ifstream in(entry.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.empty() || line[0] == '#') continue;
      std::string bytes;
      for (size_t i = 0; i + 1 < line.size(); i += 2) {
        const int hi = Hex(line[i]);
        const int lo = Hex(line[i + 1]);
        if (hi < 0 || lo < 0) break;
        bytes.push_back(static_cast<char>(hi * 16 + lo));
      }
      const fs::path out =
          fs::path(argv[2]) / (entry.path().stem().string() + "-" + std::to_string(n));
      std::ofstream(out, std::ios::binary)
          .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      ++written;
    }
  }
  std::printf("wrote %d seeds to %s\n", written, argv[2]);
  return written > 0 ? 0 : 1;
}
