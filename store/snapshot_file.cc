#include "store/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include "store/internal/crc32c.h"
#include "store/internal/payload.h"

namespace tidewatch::store {

namespace {

using internal::Crc32c;
using internal::MaskCrc;
using internal::PayloadReader;
using internal::PayloadWriter;
using internal::UnmaskCrc;

constexpr std::string_view kMagic("TWSNAP\0\0", 8);
constexpr std::size_t kHeaderSize = 20;     // magic, version, flags, header CRC
constexpr std::size_t kFrameHeadSize = 12;  // type, length
constexpr std::size_t kFrameSize = 16;      // type, length, CRC
constexpr std::size_t kTrailerPayloadSize = 12;  // block count, whole-file CRC

Status ErrnoStatus(int err, const std::string& path, std::string_view op) {
  StatusCode code = StatusCode::kInternal;
  if (err == ENOENT) code = StatusCode::kNotFound;
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) code = StatusCode::kResourceExhausted;
  return Status(code, "snapshot " + path + ": " + std::string(op) + ": " +
                          std::generic_category().message(err));
}

std::string EncodeHeader() {
  PayloadWriter fields;
  fields.PutU32(kSnapshotFormatVersion);
  fields.PutU32(0);  // flags
  std::string header(kMagic);
  header += fields.data();
  PayloadWriter crc;
  crc.PutU32(MaskCrc(Crc32c(header.data(), header.size())));
  return header + crc.data();
}

std::string DirectoryOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Owns a file descriptor opened for one function's duration.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);  // read-only or already fsynced: close cannot lose data
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Writes all of data or returns errno's value (0 on success).
int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace

// ---------------------------------------------------------------------------------
// SnapshotWriter

SnapshotWriter::SnapshotWriter(std::string path, int fd)
    : path_(std::move(path)), tmp_path_(path_ + ".tmp"), fd_(fd), tmp_exists_(true) {
  buffer_.reserve(kWriteBuffer);
}

StatusOr<SnapshotWriter> SnapshotWriter::Create(std::string path) {
  const std::string tmp_path = path + ".tmp";
  const int fd = ::open(tmp_path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, tmp_path, "open");
  SnapshotWriter writer(std::move(path), fd);
  Status s = writer.Append(EncodeHeader());  // fits the empty buffer: cannot fail
  if (!s.ok()) return s;
  return writer;
}

SnapshotWriter::SnapshotWriter(SnapshotWriter&& other) noexcept
    : path_(std::move(other.path_)),
      tmp_path_(std::move(other.tmp_path_)),
      fd_(std::exchange(other.fd_, -1)),
      tmp_exists_(std::exchange(other.tmp_exists_, false)),
      committed_(other.committed_),
      error_(std::move(other.error_)),
      buffer_(std::move(other.buffer_)),
      file_crc_(other.file_crc_),
      blocks_(other.blocks_) {}

SnapshotWriter& SnapshotWriter::operator=(SnapshotWriter&& other) noexcept {
  if (this != &other) {
    Abandon();
    path_ = std::move(other.path_);
    tmp_path_ = std::move(other.tmp_path_);
    fd_ = std::exchange(other.fd_, -1);
    tmp_exists_ = std::exchange(other.tmp_exists_, false);
    committed_ = other.committed_;
    error_ = std::move(other.error_);
    buffer_ = std::move(other.buffer_);
    file_crc_ = other.file_crc_;
    blocks_ = other.blocks_;
  }
  return *this;
}

SnapshotWriter::~SnapshotWriter() { Abandon(); }

void SnapshotWriter::Abandon() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));  // the data is being thrown away
  if (tmp_exists_) ::unlink(tmp_path_.c_str());   // best effort: the next Create truncates it
  tmp_exists_ = false;
}

Status SnapshotWriter::Fail(Status status) {
  error_ = status;
  Abandon();  // give the disk space back now, not when the caller gets round to it
  return status;
}

Status SnapshotWriter::CheckWritable() const {
  if (!error_.ok()) return error_;
  if (committed_) {
    return Status(StatusCode::kInvalidArgument, "snapshot " + path_ + ": already committed");
  }
  return Status::Ok();
}

Status SnapshotWriter::AppendBlock(std::uint32_t type, std::string_view payload) {
  Status s = CheckWritable();
  if (!s.ok()) return s;
  if (type == kSnapshotTrailerType) {
    return Status(StatusCode::kInvalidArgument,
                  "snapshot " + path_ + ": block type 0xFFFFFFFF is reserved for the trailer");
  }
  return WriteBlock(type, payload);
}

Status SnapshotWriter::WriteBlock(std::uint32_t type, std::string_view payload) {
  PayloadWriter head;
  head.PutU32(type);
  head.PutU64(payload.size());
  const std::uint32_t crc = Crc32c(payload.data(), payload.size(),
                                   Crc32c(head.data().data(), head.data().size()));
  PayloadWriter tail;
  tail.PutU32(MaskCrc(crc));
  for (const std::string_view part : {std::string_view(head.data()), payload,
                                      std::string_view(tail.data())}) {
    Status s = Append(part);
    if (!s.ok()) return s;
  }
  ++blocks_;
  return Status::Ok();
}

Status SnapshotWriter::Append(std::string_view bytes) {
  file_crc_ = Crc32c(bytes.data(), bytes.size(), file_crc_);
  if (buffer_.size() + bytes.size() <= kWriteBuffer) {
    buffer_.append(bytes);
    return Status::Ok();
  }
  Status s = Flush();
  if (!s.ok()) return s;
  if (bytes.size() < kWriteBuffer) {
    buffer_.append(bytes);
    return Status::Ok();
  }
  // Large payloads skip the copy.
  const int err = WriteAll(fd_, bytes);
  return err == 0 ? Status::Ok() : Fail(ErrnoStatus(err, tmp_path_, "write"));
}

Status SnapshotWriter::Flush() {
  const int err = WriteAll(fd_, buffer_);
  if (err != 0) return Fail(ErrnoStatus(err, tmp_path_, "write"));
  buffer_.clear();
  return Status::Ok();
}

Status SnapshotWriter::Commit() {
  Status s = CheckWritable();
  if (!s.ok()) return s;
  PayloadWriter trailer;
  trailer.PutU64(blocks_);
  trailer.PutU32(MaskCrc(file_crc_));  // covers everything before the trailer
  s = WriteBlock(kSnapshotTrailerType, trailer.data());
  if (!s.ok()) return s;
  s = Flush();
  if (!s.ok()) return s;
  if (::fsync(fd_) != 0) return Fail(ErrnoStatus(errno, tmp_path_, "fsync"));
  // close() can report a deferred write error (NFS), so its result counts.
  if (::close(std::exchange(fd_, -1)) != 0) {
    return Fail(ErrnoStatus(errno, tmp_path_, "close"));
  }
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    return Fail(ErrnoStatus(errno, path_, "rename from " + tmp_path_));
  }
  tmp_exists_ = false;
  committed_ = true;
  // The rename lives in the directory; without this fsync a crash could undo it.
  const std::string dir = DirectoryOf(path_);
  const ScopedFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) return Fail(ErrnoStatus(errno, dir, "open directory"));
  if (::fsync(dir_fd.get()) != 0) return Fail(ErrnoStatus(errno, dir, "fsync directory"));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------
// SnapshotReader

SnapshotReader::SnapshotReader(std::string path, std::unique_ptr<char[]> data)
    : path_(std::move(path)), data_(std::move(data)) {}

StatusOr<SnapshotReader> SnapshotReader::Open(std::string path) {
  const ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, path, "open");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, path, "fstat");
  if (!S_ISREG(st.st_mode)) {
    return Status(StatusCode::kInvalidArgument, "snapshot " + path + ": not a regular file");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  auto data = std::make_unique_for_overwrite<char[]>(size);
  std::size_t got = 0;
  while (got < size) {  // a file that shrank meanwhile reads as truncated below
    const ssize_t n = ::read(fd.get(), data.get() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, path, "read");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  SnapshotReader reader(std::move(path), std::move(data));
  const std::string_view file(reader.data_.get(), got);
  Status s = reader.Parse(file);
  if (!s.ok()) return s;
  return reader;
}

Status SnapshotReader::Corruption(std::string_view what) const {
  return Status(StatusCode::kDataLoss, "snapshot " + path_ + ": " + std::string(what));
}

Status SnapshotReader::BlockCorruption(std::size_t i, std::string_view what) const {
  return Corruption("block " + std::to_string(i) + " at offset " +
                    std::to_string(blocks_[i].offset) + ": " + std::string(what));
}

Status SnapshotReader::ParseHeader(std::string_view file) const {
  const std::size_t have = std::min(file.size(), kMagic.size());
  if (file.substr(0, have) != kMagic.substr(0, have)) {
    return Corruption("bad magic (not a tidewatch snapshot)");
  }
  PayloadReader fields(file.substr(have));
  std::uint32_t version = 0;
  std::uint32_t flags = 0;
  std::uint32_t crc = 0;
  if (!fields.ReadU32(&version) || !fields.ReadU32(&flags) || !fields.ReadU32(&crc)) {
    return Corruption("truncated: file ends inside the header (" + std::to_string(file.size()) +
                      " of " + std::to_string(kHeaderSize) + " bytes)");
  }
  if (UnmaskCrc(crc) != Crc32c(file.data(), kHeaderSize - 4)) {
    return Corruption("header checksum mismatch");
  }
  if (version != kSnapshotFormatVersion) {
    return Status(StatusCode::kInvalidArgument,
                  "snapshot " + path_ + ": unsupported snapshot version " +
                      std::to_string(version) + " (this build reads " +
                      std::to_string(kSnapshotFormatVersion) + ")");
  }
  if (flags != 0) {
    return Status(StatusCode::kInvalidArgument,
                  "snapshot " + path_ + ": unsupported snapshot flags " + std::to_string(flags) +
                      " (this build knows none)");
  }
  return Status::Ok();
}

Status SnapshotReader::Parse(std::string_view file) {
  Status s = ParseHeader(file);
  if (!s.ok()) return s;
  std::size_t offset = kHeaderSize;
  for (std::size_t index = 0;; ++index) {
    const std::string_view rest = file.substr(offset);
    const std::string at = " at offset " + std::to_string(offset);
    if (rest.empty()) {
      const std::string last =
          index == 0 ? std::string("the header") : "block " + std::to_string(index - 1);
      return Corruption("truncated: file ends after " + last + at + ", before the trailer");
    }
    PayloadReader frame(rest);
    std::uint32_t type = 0;
    std::uint64_t length = 0;
    const bool have_type = frame.ReadU32(&type);
    const std::string name = have_type && type == kSnapshotTrailerType
                                 ? std::string("the trailer")
                                 : "block " + std::to_string(index);
    const bool have_length = frame.ReadU64(&length);
    // A length no file of this size can hold is a corrupt field, not a short file.
    if (have_length && length > file.size()) {
      return Corruption(name + at + ": length " + std::to_string(length) +
                        " exceeds the file size " + std::to_string(file.size()) + " (corrupt)");
    }
    std::string_view payload;
    std::uint32_t crc = 0;
    if (!frame.ReadBytes(length, &payload) || !frame.ReadU32(&crc)) {
      const std::string need = have_length ? std::to_string(kFrameSize + length)
                                           : "at least " + std::to_string(kFrameSize);
      return Corruption("truncated: file ends inside " + name + at + " (it needs " + need +
                        " bytes, " + std::to_string(rest.size()) + " remain)");
    }
    if (UnmaskCrc(crc) != Crc32c(rest.data(), kFrameHeadSize + payload.size())) {
      return Corruption(name + at + ": checksum mismatch");
    }
    if (type == kSnapshotTrailerType) return ParseTrailer(file, offset, payload);
    blocks_.push_back(Block{type, offset, payload});
    offset += frame.offset();
  }
}

Status SnapshotReader::ParseTrailer(std::string_view file, std::size_t offset,
                                    std::string_view payload) const {
  const std::string where = "the trailer at offset " + std::to_string(offset) + ": ";
  PayloadReader fields(payload);
  std::uint64_t count = 0;
  std::uint32_t crc = 0;
  if (!fields.ReadU64(&count) || !fields.ReadU32(&crc) || fields.remaining() != 0) {
    return Corruption(where + "payload is " + std::to_string(payload.size()) +
                      " bytes, expected " + std::to_string(kTrailerPayloadSize));
  }
  if (count != blocks_.size()) {
    return Corruption(where + "it counts " + std::to_string(count) + " blocks, the file holds " +
                      std::to_string(blocks_.size()));
  }
  if (UnmaskCrc(crc) != Crc32c(file.data(), offset)) {
    return Corruption(where + "whole-file checksum mismatch");
  }
  const std::size_t end = offset + kFrameSize + kTrailerPayloadSize;
  if (end != file.size()) {
    return Corruption(std::to_string(file.size() - end) +
                      " unexpected bytes after the trailer, at offset " + std::to_string(end));
  }
  return Status::Ok();
}

}  // namespace tidewatch::store
