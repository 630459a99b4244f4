#include "ingest/internal/message_stager.h"

#include <algorithm>
#include <limits>

namespace tidewatch::ingest::internal {

namespace {

// Notes kept per message beyond the decoder's own errors; later ones are only counted.
constexpr std::size_t kMaxNotes = 32;
// The error text stops growing past this many bytes (a Kafka header should stay small).
constexpr std::size_t kMaxErrorBytes = 4000;

constexpr std::uint32_t Bit(RejectReason reason) { return 1u << static_cast<unsigned>(reason); }

}  // namespace

MessageStager::MessageStager(PayloadDecoder decoder, StagerOptions options, store::Store& store,
                             store::FieldRings& rings)
    : options_(std::move(options)), store_(store), rings_(rings), decoder_(std::move(decoder)) {}

StageOutcome MessageStager::Stage(std::optional<std::string_view> value, std::int64_t message_ts_ns,
                                  std::vector<StagedPoint>& points) {
  points.clear();
  StageOutcome outcome;
  if (!value) {
    outcome.reasons = Bit(RejectReason::kTombstone);
    outcome.error = "tombstone: NULL value";
    return outcome;
  }
  if (value->size() > options_.max_message_bytes) {
    outcome.reasons = Bit(RejectReason::kOversized);
    outcome.error = "oversized: " + std::to_string(value->size()) + " bytes > max_message_bytes " +
                    std::to_string(options_.max_message_bytes);
    return outcome;
  }
  if (value->empty()) {
    outcome.reasons = Bit(RejectReason::kEmptyPayload);
    outcome.error = "empty_payload: zero bytes";
    return outcome;
  }
  errors_.clear();
  notes_.clear();
  notes_dropped_ = 0;
  const DecodeCounts counts = decoder_.Decode(
      *value, message_ts_ns,
      [&](const DecodedLine& line) { StageLine(line, message_ts_ns, points, outcome); }, errors_);
  outcome.bad_lines += counts.bad_lines;
  if (counts.bad_lines > 0) outcome.reasons |= Bit(RejectReason::kMalformed);
  if (counts.good_lines == 0 && counts.bad_lines == 0) {
    outcome.reasons |= Bit(RejectReason::kEmptyPayload);
    outcome.error = decoder_.is_json() ? "empty_payload: an empty JSON array"
                                       : "empty_payload: only blank or comment lines";
    return outcome;
  }
  if (outcome.reasons != 0) ComposeError(outcome, counts);
  return outcome;
}

void MessageStager::StageLine(const DecodedLine& line, std::int64_t message_ts_ns,
                              std::vector<StagedPoint>& points, StageOutcome& outcome) {
  // Saturating bounds: the message timestamp may itself be near the int64 range's ends.
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::int64_t lo =
      message_ts_ns < kMin + kMaxSkewFromMessageNs ? kMin : message_ts_ns - kMaxSkewFromMessageNs;
  const std::int64_t hi =
      message_ts_ns > kMax - kMaxSkewFromMessageNs ? kMax : message_ts_ns + kMaxSkewFromMessageNs;
  if (line.ts_ns < lo || line.ts_ns > hi) {
    ++outcome.bad_lines;
    Reject(outcome, RejectReason::kTimestampOutOfRange, line.line_number,
           decoder_.Where(line.line_number) +
               ": timestamp out of range: " + std::to_string(line.ts_ns) +
               " ns is more than 100 years from the message timestamp " +
               std::to_string(message_ts_ns) + " ns");
    return;
  }
  ++outcome.good_lines;
  const std::size_t first = points.size();
  std::uint32_t values = 0;
  cache_.BeginLine(options_.database, line.measurement, line.tags);
  for (const DecodedField& field : line.fields) {
    if (field.is_string) {
      ++outcome.string_fields;
      continue;
    }
    const StatusOr<ResolvedField> ids = cache_.Resolve(store_, rings_, field.key, field.type);
    if (!ids.ok()) {
      ++outcome.points_refused;
      Reject(outcome, RejectReason::kStoreRefused, line.line_number,
             decoder_.Where(line.line_number) + ", field \"" + std::string(field.key) +
                 "\": " + ids.status().message());
      continue;
    }
    points.push_back({line.ts_ns, field.value, ids->series, ids->field, 0});
    ++values;
  }
  if (values > 0) points[first].record_values = values;
}

void MessageStager::Reject(StageOutcome& outcome, RejectReason reason, std::size_t line_number,
                           std::string text) {
  outcome.reasons |= Bit(reason);
  if (notes_.size() < kMaxNotes) {
    notes_.emplace_back(line_number, std::move(text));
  } else {
    ++notes_dropped_;
  }
}

void MessageStager::ComposeError(StageOutcome& outcome, const DecodeCounts& counts) {
  std::string& out = outcome.error;
  for (std::size_t r = 0; r < kRejectReasonCount; ++r) {
    if (!outcome.has(static_cast<RejectReason>(r))) continue;
    if (!out.empty()) out += ", ";
    out += RejectReasonName(static_cast<RejectReason>(r));
  }
  const std::size_t lines = outcome.good_lines + outcome.bad_lines;
  out += ": " + std::to_string(outcome.bad_lines) + " of " + std::to_string(lines) +
         (decoder_.is_json() ? " objects bad" : " lines bad");
  if (outcome.points_refused > 0) {
    out += ", " + std::to_string(outcome.points_refused) + " points refused";
  }
  // Ours and the decoder's, in line order.
  for (const LineError& e : errors_) notes_.emplace_back(e.line_number, decoder_.Describe(e));
  std::stable_sort(notes_.begin(), notes_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const std::size_t described = notes_.size();
  const std::size_t total =
      described + notes_dropped_ + (counts.bad_lines - std::min(counts.bad_lines, errors_.size()));
  std::size_t written = 0;
  for (const auto& [line, text] : notes_) {
    if (out.size() + text.size() > kMaxErrorBytes) break;
    out += written == 0 ? ": " : "; ";
    out += text;
    ++written;
  }
  if (written < total) out += "; ... and " + std::to_string(total - written) + " more";
}

}  // namespace tidewatch::ingest::internal
