// SnapshotWriter / SnapshotReader on real files in a fresh temp directory: round trips,
// the pinned format, every truncation and bit flip rejected with a clear message,
// versioning, and the atomic-replace and cleanup guarantees, including I/O failures.
#include "store/snapshot_file.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "store/internal/crc32c.h"
#include "store/internal/payload.h"

namespace tidewatch::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                       "/snapshot_file_test.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << tmpl;
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Block {
  std::uint32_t type;
  std::string payload;
};

Status WriteSnapshot(const std::string& path, const std::vector<Block>& blocks) {
  StatusOr<SnapshotWriter> writer = SnapshotWriter::Create(path);
  if (!writer.ok()) return writer.status();
  for (const Block& b : blocks) {
    Status s = writer.value().AppendBlock(b.type, b.payload);
    if (!s.ok()) return s;
  }
  return writer.value().Commit();
}

// "type:payload ..." for a valid file, else the error.
std::string Describe(const std::string& path) {
  const StatusOr<SnapshotReader> reader = SnapshotReader::Open(path);
  if (!reader.ok()) return reader.status().ToString();
  std::string out = std::to_string(reader->block_count()) + " blocks";
  for (std::size_t i = 0; i < reader->block_count(); ++i) {
    out += ' ';
    out += std::to_string(reader->block_type(i));
    out += ':';
    out += reader->block(i);
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Flips one bit of the file in place (flipping again restores it).
void FlipBit(const std::string& path, std::size_t offset, int bit) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  char byte = 0;
  const auto off = static_cast<off_t>(offset);
  ASSERT_EQ(::pread(fd, &byte, 1, off), 1);
  byte = static_cast<char>(byte ^ (1 << bit));
  ASSERT_EQ(::pwrite(fd, &byte, 1, off), 1);
  ::close(fd);
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += kDigits[static_cast<unsigned char>(c) >> 4];
    out += kDigits[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

std::string RandomBytes(std::size_t n, std::mt19937_64& rng) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A small valid file: 20 header + 17 + 16 + 27 block bytes + 28 trailer = 108 bytes.
const std::vector<Block> kSmall = {{1, "a"}, {2, ""}, {3, "hello world"}};

TEST(SnapshotFileTest, RoundTripsZeroOneAndSeveralBlocks) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, {}).ok());
  EXPECT_EQ(Describe(path), "0 blocks");
  ASSERT_TRUE(WriteSnapshot(path, {{7, "x"}}).ok());
  EXPECT_EQ(Describe(path), "1 blocks 7:x");
  ASSERT_TRUE(WriteSnapshot(path, kSmall).ok());
  EXPECT_EQ(Describe(path), "3 blocks 1:a 2: 3:hello world");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(SnapshotFileTest, RoundTripsManyRandomBlocks) {
  constexpr std::uint64_t kSeed = 42;
  std::mt19937_64 rng(kSeed);
  std::vector<Block> blocks(3000);  // ~3 MiB: crosses the write buffer several times
  for (Block& b : blocks) {
    b.type = static_cast<std::uint32_t>(rng() % 1000);
    b.payload = RandomBytes(rng() % 2000, rng);
  }
  TempDir dir;
  ASSERT_TRUE(WriteSnapshot(dir.File("snap"), blocks).ok());
  StatusOr<SnapshotReader> reader = SnapshotReader::Open(dir.File("snap"));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ASSERT_EQ(reader->block_count(), blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_EQ(reader->block_type(i), blocks[i].type) << i << " seed=" << kSeed;
    ASSERT_EQ(reader->block(i), blocks[i].payload) << i << " seed=" << kSeed;
  }
}

TEST(SnapshotFileTest, RoundTripsTenMiBPayloadBetweenSmallBlocks) {
  constexpr std::uint64_t kSeed = 10;
  std::mt19937_64 rng(kSeed);
  const std::vector<Block> blocks = {
      {1, "before"}, {2, RandomBytes(std::size_t{10} << 20, rng)}, {3, "after"}};
  TempDir dir;
  ASSERT_TRUE(WriteSnapshot(dir.File("snap"), blocks).ok());
  StatusOr<SnapshotReader> opened = SnapshotReader::Open(dir.File("snap"));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  const SnapshotReader reader = std::move(opened).value();  // views survive the move
  ASSERT_EQ(reader.block_count(), 3U);
  EXPECT_EQ(reader.block(0), "before");
  EXPECT_TRUE(reader.block(1) == blocks[1].payload) << "seed=" << kSeed;
  EXPECT_EQ(reader.block(2), "after");
}

// The bytes were checked against an independent Python model of the format (struct.pack
// and a bitwise CRC-32C). A change here breaks every snapshot already on disk.
TEST(SnapshotFileTest, FormatIsPinned) {
  TempDir dir;
  ASSERT_TRUE(WriteSnapshot(dir.File("snap"), {{7, "abc"}}).ok());
  EXPECT_EQ(Hex(ReadFile(dir.File("snap"))),
            "5457534e41500000"  // magic "TWSNAP\0\0"
            "01000000"          // version 1
            "00000000"          // flags
            "e8d77ea7"          // masked CRC of the 16 bytes above
            "07000000"          // block type 7
            "0300000000000000"  // length 3
            "616263"            // "abc"
            "0fffb5e9"          // masked CRC of type|length|payload
            "ffffffff"          // trailer type
            "0c00000000000000"  // length 12
            "0100000000000000"  // 1 block
            "7dfb6205"          // masked CRC of every byte before the trailer
            "63d3b407");        // masked CRC of the trailer block
}

TEST(SnapshotFileTest, EveryTruncationIsRejected) {
  TempDir dir;
  ASSERT_TRUE(WriteSnapshot(dir.File("snap"), kSmall).ok());
  const std::string bytes = ReadFile(dir.File("snap"));
  ASSERT_EQ(bytes.size(), 108U);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    WriteFile(dir.File("cut"), bytes.substr(0, len));
    const StatusOr<SnapshotReader> reader = SnapshotReader::Open(dir.File("cut"));
    ASSERT_FALSE(reader.ok()) << "accepted a file cut to " << len << " bytes";
    EXPECT_EQ(reader.status().code(), StatusCode::kDataLoss) << len;
    EXPECT_EQ(reader.status().message().rfind("snapshot " + dir.File("cut") + ": truncated: ", 0),
              0U)
        << reader.status().message();
  }
}

TEST(SnapshotFileTest, TruncationMessagesSayWhere) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, kSmall).ok());
  const std::string bytes = ReadFile(path);
  const std::string prefix = "DATA_LOSS: snapshot " + path + ": truncated: file ends ";
  WriteFile(path, bytes.substr(0, 7));
  EXPECT_EQ(Describe(path), prefix + "inside the header (7 of 20 bytes)");
  WriteFile(path, bytes.substr(0, 53));
  EXPECT_EQ(Describe(path), prefix + "after block 1 at offset 53, before the trailer");
  WriteFile(path, bytes.substr(0, 60));
  EXPECT_EQ(Describe(path),
            prefix + "inside block 2 at offset 53 (it needs at least 16 bytes, 7 remain)");
  WriteFile(path, bytes.substr(0, 70));
  EXPECT_EQ(Describe(path), prefix + "inside block 2 at offset 53 (it needs 27 bytes, 17 remain)");
  WriteFile(path, bytes.substr(0, 100));
  EXPECT_EQ(Describe(path),
            prefix + "inside the trailer at offset 80 (it needs 28 bytes, 20 remain)");
}

TEST(SnapshotFileTest, EverySingleBitFlipIsRejected) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, kSmall).ok());
  const std::size_t size = ReadFile(path).size();
  for (std::size_t offset = 0; offset < size; ++offset) {
    for (int bit = 0; bit < 8; ++bit) {
      FlipBit(path, offset, bit);
      const StatusOr<SnapshotReader> reader = SnapshotReader::Open(path);
      ASSERT_FALSE(reader.ok()) << "accepted a flip of bit " << bit << " at " << offset;
      EXPECT_EQ(reader.status().code(), StatusCode::kDataLoss) << reader.status().message();
      FlipBit(path, offset, bit);
    }
  }
  EXPECT_EQ(Describe(path), "3 blocks 1:a 2: 3:hello world");
}

TEST(SnapshotFileTest, RandomBitFlipsInALargeFileAreRejected) {
  constexpr std::uint64_t kSeed = 99;
#if defined(TIDEWATCH_SANITIZED)
  constexpr int kFlips = 8;
#else
  constexpr int kFlips = 32;
#endif
  std::mt19937_64 rng(kSeed);
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, {{1, RandomBytes(std::size_t{4} << 20, rng)}}).ok());
  const std::size_t size = static_cast<std::size_t>(fs::file_size(path));
  for (int i = 0; i < kFlips; ++i) {
    const std::size_t offset = rng() % size;
    const int bit = static_cast<int>(rng() % 8);
    FlipBit(path, offset, bit);
    const StatusOr<SnapshotReader> reader = SnapshotReader::Open(path);
    EXPECT_EQ(reader.status().code(), StatusCode::kDataLoss)
        << "flip of bit " << bit << " at " << offset << " seed=" << kSeed;
    FlipBit(path, offset, bit);
  }
}

TEST(SnapshotFileTest, CorruptBlockNamesBlockAndOffset) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, kSmall).ok());
  FlipBit(path, 53 + 12 + 4, 0);  // inside block 2's payload
  EXPECT_EQ(Describe(path),
            "DATA_LOSS: snapshot " + path + ": block 2 at offset 53: checksum mismatch");
}

TEST(SnapshotFileTest, CorruptLengthIsNotAnAllocation) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, kSmall).ok());
  FlipBit(path, 20 + 4 + 5, 7);  // bit 47 of block 0's length: 2^47 bytes
  EXPECT_EQ(Describe(path), "DATA_LOSS: snapshot " + path +
                                ": block 0 at offset 20: length 140737488355329 exceeds the "
                                "file size 108 (corrupt)");
}

TEST(SnapshotFileTest, ReorderedOrDroppedBlocksAreRejected) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, {{1, "aaaa"}, {2, "bbbb"}}).ok());
  const std::string bytes = ReadFile(path);  // blocks at 20 and 40, 20 bytes each
  WriteFile(path, bytes.substr(0, 20) + bytes.substr(40, 20) + bytes.substr(20, 20) +
                      bytes.substr(60));
  EXPECT_EQ(Describe(path), "DATA_LOSS: snapshot " + path +
                                ": the trailer at offset 60: whole-file checksum mismatch");
  WriteFile(path, bytes.substr(0, 40) + bytes.substr(60));
  EXPECT_EQ(Describe(path), "DATA_LOSS: snapshot " + path +
                                ": the trailer at offset 40: it counts 2 blocks, the file holds 1");
}

TEST(SnapshotFileTest, BytesAfterTheTrailerAreRejected) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, kSmall).ok());
  WriteFile(path, ReadFile(path) + "xy");
  EXPECT_EQ(Describe(path), "DATA_LOSS: snapshot " + path +
                                ": 2 unexpected bytes after the trailer, at offset 108");
}

// Rewrites the header's version and flags and re-seals its CRC: an intact file of
// another format.
void RewriteHeader(const std::string& path, std::uint32_t version, std::uint32_t flags) {
  std::string bytes = ReadFile(path);
  internal::PayloadWriter fields;
  fields.PutU32(version);
  fields.PutU32(flags);
  bytes.replace(8, 8, fields.data());
  internal::PayloadWriter crc;
  crc.PutU32(internal::MaskCrc(internal::Crc32c(bytes.data(), 16)));
  bytes.replace(16, 4, crc.data());
  WriteFile(path, bytes);
}

TEST(SnapshotFileTest, OtherVersionsAndFlagsAreUnsupported) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, kSmall).ok());
  RewriteHeader(path, 2, 0);
  EXPECT_EQ(Describe(path), "INVALID_ARGUMENT: snapshot " + path +
                                ": unsupported snapshot version 2 (this build reads 1)");
  RewriteHeader(path, 1, 4);
  EXPECT_EQ(Describe(path), "INVALID_ARGUMENT: snapshot " + path +
                                ": unsupported snapshot flags 4 (this build knows none)");
}

TEST(SnapshotFileTest, ForeignFilesAreRejected) {
  TempDir dir;
  const std::string path = dir.File("snap");
  WriteFile(path, "PK\x03\x04 this is a zip file, not a snapshot");
  EXPECT_EQ(Describe(path),
            "DATA_LOSS: snapshot " + path + ": bad magic (not a tidewatch snapshot)");
  EXPECT_EQ(Describe(dir.path()),
            "INVALID_ARGUMENT: snapshot " + dir.path() + ": not a regular file");
}

TEST(SnapshotReaderTest, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_EQ(Describe(dir.File("nope")),
            "NOT_FOUND: snapshot " + dir.File("nope") + ": open: No such file or directory");
}

TEST(SnapshotReaderTest, BlockCorruptionNamesBlockAndOffset) {
  TempDir dir;
  ASSERT_TRUE(WriteSnapshot(dir.File("snap"), kSmall).ok());
  const StatusOr<SnapshotReader> reader = SnapshotReader::Open(dir.File("snap"));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->BlockCorruption(2, "bad varint").ToString(),
            "DATA_LOSS: snapshot " + dir.File("snap") + ": block 2 at offset 53: bad varint");
}

TEST(SnapshotWriterTest, TempFileIsRemovedWithoutCommit) {
  TempDir dir;
  const std::string path = dir.File("snap");
  {
    StatusOr<SnapshotWriter> writer = SnapshotWriter::Create(path);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE(writer.value().AppendBlock(1, std::string(3 << 20, 'x')).ok());
    EXPECT_TRUE(fs::exists(path + ".tmp"));
  }
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_FALSE(fs::exists(path));
}

TEST(SnapshotWriterTest, CommitReplacesTheOldFileAtomically) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(WriteSnapshot(path, {{1, "old"}}).ok());
  {
    // A writer that "crashes" before its rename: the old file stays readable throughout.
    StatusOr<SnapshotWriter> writer = SnapshotWriter::Create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE(writer.value().AppendBlock(1, "new").ok());
    EXPECT_EQ(Describe(path), "1 blocks 1:old");
  }
  EXPECT_EQ(Describe(path), "1 blocks 1:old");
  ASSERT_TRUE(WriteSnapshot(path, {{1, "new"}}).ok());
  EXPECT_EQ(Describe(path), "1 blocks 1:new");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(SnapshotWriterTest, RejectsTheTrailerTypeAndStaysUsable) {
  TempDir dir;
  StatusOr<SnapshotWriter> writer = SnapshotWriter::Create(dir.File("snap"));
  ASSERT_TRUE(writer.ok());
  const Status s = writer.value().AppendBlock(kSnapshotTrailerType, "x");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(writer.value().AppendBlock(5, "y").ok());
  ASSERT_TRUE(writer.value().Commit().ok());
  EXPECT_EQ(writer.value().Commit().code(), StatusCode::kInvalidArgument);  // twice
  EXPECT_EQ(Describe(dir.File("snap")), "1 blocks 5:y");
}

TEST(SnapshotWriterTest, MoveAssignmentAbandonsTheOverwrittenWriter) {
  TempDir dir;
  StatusOr<SnapshotWriter> first = SnapshotWriter::Create(dir.File("first"));
  StatusOr<SnapshotWriter> second = SnapshotWriter::Create(dir.File("second"));
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(second.value().AppendBlock(2, "b").ok());
  first.value() = std::move(second).value();
  EXPECT_FALSE(fs::exists(dir.File("first.tmp")));
  ASSERT_TRUE(first.value().Commit().ok());
  EXPECT_EQ(Describe(dir.File("second")), "1 blocks 2:b");
  EXPECT_FALSE(fs::exists(dir.File("first")));
}

TEST(SnapshotWriterTest, CreateInMissingDirectoryReportsPath) {
  TempDir dir;
  const std::string path = dir.File("missing/snap");
  EXPECT_EQ(SnapshotWriter::Create(path).status().ToString(),
            "NOT_FOUND: snapshot " + path + ".tmp: open: No such file or directory");
}

TEST(SnapshotWriterTest, CreateUnderARegularFileReportsPath) {
  TempDir dir;
  WriteFile(dir.File("file"), "x");
  const std::string path = dir.File("file/snap");
  EXPECT_EQ(SnapshotWriter::Create(path).status().ToString(),
            "INTERNAL: snapshot " + path + ".tmp: open: Not a directory");
}

TEST(SnapshotWriterTest, CreateInReadOnlyDirectoryReportsPath) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
  const std::string path = dir.File("snap");
  const Status s = SnapshotWriter::Create(path).status();
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  EXPECT_EQ(s.ToString(), "INTERNAL: snapshot " + path + ".tmp: open: Permission denied");
}

TEST(SnapshotWriterTest, FailedRenameKeepsNothingBehind) {
  TempDir dir;
  const std::string path = dir.File("snap");
  ASSERT_TRUE(fs::create_directory(path));  // rename(2) cannot replace a directory
  StatusOr<SnapshotWriter> writer = SnapshotWriter::Create(path);
  ASSERT_TRUE(writer.ok());
  const Status s = writer.value().Commit();
  EXPECT_EQ(s.ToString(),
            "INTERNAL: snapshot " + path + ": rename from " + path + ".tmp: Is a directory");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_TRUE(fs::is_directory(path));
}

// RLIMIT_FSIZE makes write(2) fail with EFBIG once the file reaches the limit: a real
// I/O error on a real file, standing in for a full disk.
TEST(SnapshotWriterTest, WriteErrorIsReportedAndSticky) {
  TempDir dir;
  const std::string path = dir.File("snap");
  StatusOr<SnapshotWriter> writer = SnapshotWriter::Create(path);
  ASSERT_TRUE(writer.ok());
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit limit = old_limit;
  limit.rlim_cur = 64 << 10;
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  const Status s = writer.value().AppendBlock(1, std::string(2 << 20, 'x'));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(s.ToString(), "RESOURCE_EXHAUSTED: snapshot " + path + ".tmp: write: File too large");
  EXPECT_FALSE(fs::exists(path + ".tmp"));  // abandoned at once, giving the space back
  EXPECT_EQ(writer.value().AppendBlock(2, "y"), s);
  EXPECT_EQ(writer.value().Commit(), s);
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace tidewatch::store
