#include "daemon/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace tidewatch::daemon {

namespace {

// zlib's stream with its cleanup tied to scope.
class Inflater {
 public:
  Inflater() { ok_ = inflateInit2(&stream_, 16 + MAX_WBITS) == Z_OK; }  // 16: gzip only
  ~Inflater() {
    if (ok_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  bool ok() const { return ok_; }
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
  bool ok_ = false;
};

constexpr std::size_t kChunk = 64 * 1024;

}  // namespace

StatusOr<std::string> Gunzip(std::string_view compressed, std::size_t max_bytes) {
  Inflater inflater;
  if (!inflater.ok()) return Status(StatusCode::kInternal, "gzip: cannot initialise zlib");
  z_stream& zs = inflater.stream();
  // Bytef* is non-const in zlib's API; inflate never writes through next_in.
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  std::size_t in_left = compressed.size();
  std::string out;
  for (;;) {
    if (zs.avail_in == 0 && in_left > 0) {
      const std::size_t n = std::min<std::size_t>(in_left, std::numeric_limits<uInt>::max());
      zs.avail_in = static_cast<uInt>(n);
      in_left -= n;
    }
    // One byte more than allowed tells "exactly max_bytes" from "more".
    const std::size_t room = std::min(kChunk, max_bytes + 1 - out.size());
    const std::size_t used = out.size();
    out.resize(used + room);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(used + room - zs.avail_out);
    if (out.size() > max_bytes) {
      return Status(StatusCode::kResourceExhausted,
                    "gzip: inflated body exceeds " + std::to_string(max_bytes) + " bytes");
    }
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0 && in_left == 0) return out;
      // Another member follows.
      if (inflateReset(&zs) != Z_OK) return Status(StatusCode::kInternal, "gzip: inflateReset");
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
      return Status(StatusCode::kInvalidArgument, "gzip: unexpected EOF");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Status(StatusCode::kInvalidArgument,
                    std::string("gzip: ") + (zs.msg != nullptr ? zs.msg : "corrupt data"));
    }
  }
}

}  // namespace tidewatch::daemon
