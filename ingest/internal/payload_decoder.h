// PayloadDecoder: the decoder of one source's payload format, chosen once from the
// config. A closed set of formats in a std::variant, dispatched once per message with
// std::visit; each decoder's Decode() is a template over the line callback, so the
// per-line path has no virtual or indirect call.
//
// Formats: "line" (InfluxDB line protocol, ingest/line_protocol.h) and "json"
// (ingest/json_decoder.h), which share the Decode() signature and output types. They
// differ in what a "line" is (a line of text; an object of the payload, numbered from
// 1 in DecodedLine::line_number, from 0 in JSON's own reasons) and so in how errors
// are worded: Where() and Describe() word them for the format.
//
// Thread safety: like the decoders it holds: one per consumer thread.
#ifndef TIDEWATCH_INGEST_INTERNAL_PAYLOAD_DECODER_H_
#define TIDEWATCH_INGEST_INTERNAL_PAYLOAD_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ingest/json_decoder.h"
#include "ingest/line_protocol.h"
#include "store/status.h"

namespace tidewatch::ingest::internal {

class PayloadDecoder {
 public:
  // A decoder for `format`: "line", whose timestamps are in `precision` ("n" or "ns",
  // "u" or "us", "ms", "s", "m", "h"; "" means ns), or "json", mapped by `json`
  // (precision is then unused, but must still be valid). Errors (kInvalidArgument): an
  // unknown format; an unknown precision; "format json: requires a json mapping" when
  // `json` is nullopt; "json: <what>" for a mapping JsonDecoder::Create() refuses.
  static StatusOr<PayloadDecoder> Create(std::string_view format, std::string_view precision,
                                         const std::optional<JsonMapping>& json);

  PayloadDecoder(PayloadDecoder&&) = default;
  PayloadDecoder(const PayloadDecoder&) = delete;
  PayloadDecoder& operator=(const PayloadDecoder&) = delete;

  // Decodes `payload` with the chosen decoder; same contract as
  // LineProtocolDecoder::Decode() and JsonDecoder::Decode().
  template <class OnLine>
  DecodeCounts Decode(std::string_view payload, std::int64_t default_ts_ns, OnLine&& on_line,
                      std::vector<LineError>& errors) {
    return std::visit(
        [&](auto& decoder) { return decoder.Decode(payload, default_ts_ns, on_line, errors); },
        decoder_);
  }

  // Names the unit of a payload that DecodedLine::line_number `n` denotes, for error
  // texts: "line 3" for line protocol, "object 2" (0-based, as JSON's reasons count) for
  // JSON.
  std::string Where(std::size_t line_number) const;

  // One decoder error as text for the dead-letter header and the log: LineError's own
  // ToString() for line protocol; for JSON the reason (which names the object) and the
  // excerpt, "object 1: missing timestamp \"time\" in '{\"temp\": 1}'".
  std::string Describe(const LineError& error) const;

  // True for format "json": a "line" is then an object, and a payload without points an
  // empty array.
  bool is_json() const { return std::holds_alternative<JsonDecoder>(decoder_); }

 private:
  using Variant = std::variant<LineProtocolDecoder, JsonDecoder>;
  explicit PayloadDecoder(Variant decoder) : decoder_(std::move(decoder)) {}

  Variant decoder_;
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_PAYLOAD_DECODER_H_
