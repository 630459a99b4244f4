// PayloadDecoder: the decoder of one source's payload format, chosen once from the
// config. A closed set of formats in a std::variant, dispatched once per message with
// std::visit; each decoder's Decode() is a template over the line callback, so the
// per-line path has no virtual or indirect call.
//
// Formats: "line" (InfluxDB line protocol, ingest/line_protocol.h). "json"
// (ingest/json_decoder.h) has the same Decode() signature and output types; wiring it is
// adding JsonDecoder to the variant and a branch to Create().
//
// Thread safety: like the decoders it holds: one per consumer thread.
#ifndef TIDEWATCH_INGEST_INTERNAL_PAYLOAD_DECODER_H_
#define TIDEWATCH_INGEST_INTERNAL_PAYLOAD_DECODER_H_

#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ingest/line_protocol.h"
#include "store/status.h"

namespace tidewatch::ingest::internal {

class PayloadDecoder {
 public:
  // A decoder for `format` ("line"); `precision` is the line protocol's unit of
  // timestamps ("n" or "ns", "u" or "us", "ms", "s", "m", "h"; "" means ns). Errors
  // (kInvalidArgument): "format json: not available yet"; an unknown format; an unknown
  // precision.
  static StatusOr<PayloadDecoder> Create(std::string_view format, std::string_view precision);

  PayloadDecoder(PayloadDecoder&&) = default;
  PayloadDecoder(const PayloadDecoder&) = delete;
  PayloadDecoder& operator=(const PayloadDecoder&) = delete;

  // Decodes `payload` with the chosen decoder; same contract as
  // LineProtocolDecoder::Decode().
  template <class OnLine>
  DecodeCounts Decode(std::string_view payload, std::int64_t default_ts_ns, OnLine&& on_line,
                      std::vector<LineError>& errors) {
    return std::visit(
        [&](auto& decoder) { return decoder.Decode(payload, default_ts_ns, on_line, errors); },
        decoder_);
  }

 private:
  using Variant = std::variant<LineProtocolDecoder>;
  explicit PayloadDecoder(Variant decoder) : decoder_(std::move(decoder)) {}

  Variant decoder_;
};

}  // namespace tidewatch::ingest::internal

#endif  // TIDEWATCH_INGEST_INTERNAL_PAYLOAD_DECODER_H_
