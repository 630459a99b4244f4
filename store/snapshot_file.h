// The snapshot file: a checksummed container of typed blocks, written atomically.
// The window store checkpoints itself into one (series index, chunks, the Kafka
// offsets the checkpoint covers); this layer knows nothing of what the blocks mean.
//
// Guarantees. A reader sees either a complete file that a writer committed, or an
// error; never a partial or corrupt file presented as valid. Committing replaces the
// previous file atomically (rename(2)), and is durable when Commit() returns OK (the
// file and its directory are fsynced), so the caller may then commit the offsets the
// snapshot covers. A crash at any moment leaves the previous file intact (and at
// worst a stale "<path>.tmp", which the next writer truncates).
//
// File format, version 1. All integers little-endian, written byte by byte.
//   header   "TWSNAP\0\0"   8-byte magic
//            u32            format version (1)
//            u32            flags (0; no flag is defined in version 1)
//            u32            masked CRC-32C of the 16 bytes above             20 bytes
//   block    u32            type (any value but kSnapshotTrailerType)
//            u64            payload length
//            payload        `length` bytes, opaque
//            u32            masked CRC-32C of type|length|payload       16 + length bytes
//   ...      zero or more blocks
//   trailer  a block of type kSnapshotTrailerType whose 12-byte payload is
//            u64            number of blocks before the trailer
//            u32            masked CRC-32C of every byte before the trailer
//   and nothing after it.
// The trailer is what makes a file complete: a file cut exactly at a block boundary
// has no trailer, and the count and whole-file CRC also catch blocks that were
// dropped, duplicated or reordered. The header carries its own CRC so that a corrupt
// version field reads as corruption, not as "unsupported version". Every later
// version keeps the meaning of the first 20 bytes, so any build can tell a newer
// format (kInvalidArgument) from a damaged file (kDataLoss). Masked CRCs (see
// internal/crc32c.h) because blocks may themselves carry CRCs.
//
// Thread safety: a SnapshotWriter is used by one thread at a time. A SnapshotReader
// is immutable once opened; its const members may be called from any number of
// threads. One writer per path at a time (two would share "<path>.tmp").
#ifndef TIDEWATCH_STORE_SNAPSHOT_FILE_H_
#define TIDEWATCH_STORE_SNAPSHOT_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/status.h"

namespace tidewatch::store {

// The block type reserved for the trailer; AppendBlock refuses it.
inline constexpr std::uint32_t kSnapshotTrailerType = 0xFFFFFFFFU;

// The format version this build writes and reads.
inline constexpr std::uint32_t kSnapshotFormatVersion = 1;

// Errors name the file and the system call, with errno's text, e.g.
// "snapshot /var/lib/tw/snap.tmp: write: No space left on device". Codes: kNotFound
// (the directory does not exist), kResourceExhausted (ENOSPC, EDQUOT, EFBIG),
// kInternal (any other system failure), kInvalidArgument (a caller error).
class SnapshotWriter {
 public:
  // Creates (or truncates) "<path>.tmp", mode 0644 before the umask, and writes the
  // header into the buffer. `path` itself is not touched until Commit().
  static StatusOr<SnapshotWriter> Create(std::string path);

  SnapshotWriter(SnapshotWriter&& other) noexcept;
  SnapshotWriter& operator=(SnapshotWriter&& other) noexcept;
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // Unless Commit() succeeded, closes and removes "<path>.tmp"; `path` is untouched.
  ~SnapshotWriter();

  // Appends one block. Blocks are buffered (kWriteBuffer bytes) and reach the file in
  // large writes; a payload of at least that size is written straight from the caller's
  // memory. kInvalidArgument if type == kSnapshotTrailerType. After the first failure
  // every later AppendBlock and Commit return that same error; the file is abandoned.
  Status AppendBlock(std::uint32_t type, std::string_view payload);

  // Writes the trailer, flushes, fsyncs "<path>.tmp", renames it over `path` and fsyncs
  // the directory. Only when it returns OK is the snapshot durable. If it fails before
  // the rename, `path` still holds the previous file. If only the directory fsync fails,
  // the new file is in place but its durability is unknown: treat it as not committed.
  // Calling AppendBlock or Commit after a successful Commit is a kInvalidArgument error.
  Status Commit();

  // How much is buffered before a write(2): bounds the memory and makes small blocks
  // cost no system call of their own.
  static constexpr std::size_t kWriteBuffer = std::size_t{1} << 20;

 private:
  SnapshotWriter(std::string path, int fd);

  // error_ if a call failed, kInvalidArgument if committed, else OK.
  Status CheckWritable() const;
  // Frames one block (header, payload, CRC) and appends it; counts it.
  Status WriteBlock(std::uint32_t type, std::string_view payload);
  // Adds bytes to the file (through the buffer) and to the whole-file CRC.
  Status Append(std::string_view bytes);
  Status Flush();
  // Records the first error; every later call returns it.
  Status Fail(Status status);
  // Closes the file and removes "<path>.tmp" if it still exists.
  void Abandon();

  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;                 // open until Commit() or Abandon()
  bool tmp_exists_ = false;     // "<path>.tmp" exists and is ours to remove
  bool committed_ = false;      // renamed over path_
  Status error_;                // the first failure, sticky
  std::string buffer_;          // bytes not yet written, at most kWriteBuffer
  std::uint32_t file_crc_ = 0;  // CRC-32C of every byte appended so far
  std::uint64_t blocks_ = 0;    // blocks appended so far, without the trailer
};

// Reads a whole snapshot file into memory and validates all of it before anything can
// be read: magic, header CRC, version, flags, every block's CRC, the trailer's block
// count and whole-file CRC, and that nothing follows the trailer.
//
// read(2), not mmap: validation touches every byte anyway, so mapping saves no I/O,
// and a private copy turns an I/O error or a file truncated underneath us into a Status
// instead of a SIGBUS in the middle of decoding. The price is holding the file in memory
// while it is decoded (once, at startup).
class SnapshotReader {
 public:
  // Errors (message "snapshot <path>: ..."): kNotFound if the file does not exist;
  // kInvalidArgument "unsupported snapshot version N (this build reads 1)" or
  // "unsupported snapshot flags N ..." for an intact file of another format, or
  // "not a regular file";
  // kDataLoss for anything corrupt or truncated, saying what and where, e.g.
  // "block 3 at offset 1234: checksum mismatch", "truncated: file ends inside block 2
  // at offset 1234 ...", "bad magic"; kInternal for other I/O errors.
  static StatusOr<SnapshotReader> Open(std::string path);

  SnapshotReader(SnapshotReader&&) noexcept = default;
  SnapshotReader& operator=(SnapshotReader&&) noexcept = default;

  // The blocks, in the order they were appended, numbered from 0.
  std::size_t block_count() const { return blocks_.size(); }
  // REQUIRES: i < block_count().
  std::uint32_t block_type(std::size_t i) const { return blocks_[i].type; }
  // The payload; valid as long as this reader exists (moving the reader keeps it valid).
  // REQUIRES: i < block_count().
  std::string_view block(std::size_t i) const { return blocks_[i].payload; }

  // kDataLoss "snapshot <path>: block <i> at offset <o>: <what>", for a caller whose
  // decoding of a (checksum-valid) payload fails. REQUIRES: i < block_count().
  Status BlockCorruption(std::size_t i, std::string_view what) const;

 private:
  struct Block {
    std::uint32_t type;
    std::size_t offset;  // of the block's first byte in the file
    std::string_view payload;
  };

  SnapshotReader(std::string path, std::unique_ptr<char[]> data);
  // Validates the whole file (a view of data_) and fills blocks_.
  Status Parse(std::string_view file);
  Status ParseHeader(std::string_view file) const;
  // REQUIRES: blocks_ holds every block before the trailer at `offset`.
  Status ParseTrailer(std::string_view file, std::size_t offset, std::string_view payload) const;
  // kDataLoss "snapshot <path>: <what>".
  Status Corruption(std::string_view what) const;

  std::string path_;
  std::unique_ptr<char[]> data_;  // the whole file; blocks_ point into it
  std::vector<Block> blocks_;
};

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_SNAPSHOT_FILE_H_
