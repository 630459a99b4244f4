// MessageStager: turns one Kafka message value into the points a source pushes into the
// field rings, and says in words what it had to reject.
//
// Staging resolves everything that can fail or allocate before anything is pushed: the
// payload is decoded, each line's timestamp checked against the message timestamp, each
// field's ring found and each point's series interned (FieldRings::FieldFor and
// Store::Intern, through a SeriesCache that encodes a line's series part once). The result is a list of plain values (StagedPoint) that owns nothing and
// points into nothing, so a source can keep it across loop iterations when the rings
// are full.
//
// What is rejected, and how (RejectReason in ingest/dead_letter.h):
//   NULL value (tombstone)                     kTombstone, nothing decoded
//   longer than max_message_bytes              kOversized, nothing decoded
//   zero bytes, only blank/comment lines, or an empty JSON array
//                                              kEmptyPayload
//   a line the decoder refuses                 kMalformed, that line skipped
//   (JSON: a bad object, that object skipped; a payload that is not valid JSON,
//   nothing decoded)
//   a line more than 100 years (365.25-day) from the message timestamp
//                                              kTimestampOutOfRange, that line skipped
//   a field the rings or the store refuse      kStoreRefused, that point skipped
// Good lines of a partly bad message are staged as usual. For JSON a "line" is an object
// of the payload: the error texts say "object N" (0-based, as the decoder's reasons do).
//
// Thread safety: not thread-safe; one per consumer thread. The store and rings are used
// through their thread-safe interfaces.
#ifndef TIDEWATCH_INGEST_INTERNAL_MESSAGE_STAGER_H_
#define TIDEWATCH_INGEST_INTERNAL_MESSAGE_STAGER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/dead_letter.h"
#include "ingest/internal/payload_decoder.h"
#include "ingest/internal/series_cache.h"
#include "ingest/line_protocol.h"
#include "store/field_rings.h"
#include "store/store.h"
#include "store/types.h"

namespace tidewatch::ingest::internal {

// 100 years of 365.25 days, in ns: how far a point's time may be from its message's.
inline constexpr std::int64_t kMaxSkewFromMessageNs = 3'155'760'000'000'000'000;

// One value ready for RecordWriter::Push. 32 bytes, trivially copyable.
struct StagedPoint {
  std::int64_t ts = 0;
  double value = 0;
  store::SeriesId series = 0;
  store::FieldId field = 0;
  // On the first value of a record (a line's non-string fields): how many values the
  // record has; 0 on its other values.
  std::uint32_t record_values = 0;
};

struct StageOutcome {
  std::uint32_t reasons = 0;   // bit (1 << RejectReason) for each reason met
  std::size_t good_lines = 0;  // lines staged (some of their points may be refused)
  std::size_t bad_lines = 0;   // lines rejected: malformed or out of range
  std::size_t points_refused = 0;
  std::size_t string_fields = 0;  // string values: counted, not stored
  // What was rejected and where, for the tidewatch-error header and the log; empty
  // when reasons == 0. At most ~4 KiB.
  std::string error;

  bool has(RejectReason reason) const { return (reasons >> static_cast<unsigned>(reason)) & 1u; }
};

struct StagerOptions {
  std::string database;  // the InfluxDB database every point is written to
  std::size_t max_message_bytes = 1 << 20;
};

class MessageStager {
 public:
  // REQUIRES: store and rings outlive the stager.
  MessageStager(PayloadDecoder decoder, StagerOptions options, store::Store& store,
                store::FieldRings& rings);

  // Stages `value` (nullopt: a tombstone) into `points`, cleared first: the points of the
  // good lines in payload order. `message_ts_ns` is the message's timestamp: the time of
  // lines without one and the centre of the accepted range.
  StageOutcome Stage(std::optional<std::string_view> value, std::int64_t message_ts_ns,
                     std::vector<StagedPoint>& points);

  // Forgets every cached series id (see SeriesCache).
  void InvalidateSeriesCache() { cache_.Clear(); }

 private:
  void StageLine(const DecodedLine& line, std::int64_t message_ts_ns,
                 std::vector<StagedPoint>& points, StageOutcome& outcome);
  void Reject(StageOutcome& outcome, RejectReason reason, std::size_t line_number,
              std::string text);
  void ComposeError(StageOutcome& outcome, const DecodeCounts& counts);

  // Constant after construction.
  const StagerOptions options_;
  store::Store& store_;
  store::FieldRings& rings_;

  PayloadDecoder decoder_;
  SeriesCache cache_;
  // Per message, reused.
  std::vector<LineError> errors_;
  std::vector<std::pair<std::size_t, std::string>> notes_;  // (line, what), ours
  std::size_t notes_dropped_ = 0;
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_MESSAGE_STAGER_H_
