#include "testing/statsd_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testing/wait_for.h"

namespace lastro::testing {

StatsdListener::StatsdListener() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return;
  }
  // Short receive timeout: WaitForAll polls its condition between receives.
  timeval timeout{.tv_sec = 0, .tv_usec = 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  fd_ = fd;
  port_ = ntohs(addr.sin_port);
}

StatsdListener::~StatsdListener() {
  if (fd_ >= 0) ::close(fd_);
}

std::string StatsdListener::addr() const { return "127.0.0.1:" + std::to_string(port_); }

bool StatsdListener::WaitForAll(const std::vector<std::string>& lines,
                                std::chrono::milliseconds timeout) {
  return WaitFor(
      [&] {
        char buf[2048];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) received_.append(buf, static_cast<size_t>(n)).push_back('\n');
        for (const std::string& line : lines) {
          if (received_.find(line) == std::string::npos) return false;
        }
        return true;
      },
      timeout);
}

}  // namespace lastro::testing
