#include "ingest/internal/payload_decoder.h"

namespace tidewatch::ingest::internal {

StatusOr<PayloadDecoder> PayloadDecoder::Create(std::string_view format, std::string_view precision,
                                                const std::optional<JsonMapping>& json) {
  if (format != "line" && format != "json") {
    return Status(StatusCode::kInvalidArgument,
                  "unknown format '" + std::string(format) + "' (expected \"line\" or \"json\")");
  }
  const std::optional<Precision> unit = ParsePrecision(precision);
  if (!unit) {
    return Status(StatusCode::kInvalidArgument, "unknown precision '" + std::string(precision) +
                                                    "' (expected n, ns, u, us, ms, s, m or h)");
  }
  if (format == "json") {
    if (!json) {
      return Status(StatusCode::kInvalidArgument,
                    "format json: requires a json mapping ([kafka.json])");
    }
    StatusOr<JsonDecoder> decoder = JsonDecoder::Create(*json);
    if (!decoder.ok()) {
      return Status(StatusCode::kInvalidArgument, "json: " + decoder.status().message());
    }
    return PayloadDecoder(Variant(std::in_place_type<JsonDecoder>, std::move(*decoder)));
  }
  LineProtocolOptions options;
  options.precision = *unit;
  return PayloadDecoder(Variant(std::in_place_type<LineProtocolDecoder>, options));
}

std::string PayloadDecoder::Where(std::size_t line_number) const {
  if (!is_json()) return "line " + std::to_string(line_number);
  return "object " + std::to_string(line_number == 0 ? 0 : line_number - 1);
}

std::string PayloadDecoder::Describe(const LineError& error) const {
  if (!is_json()) return error.ToString();
  // JSON reasons stand alone ("object 3: ...", "invalid JSON at byte 17: ..."); the
  // excerpt shows the object, or the bytes around a payload error.
  return error.reason + " in '" + error.excerpt + "'";
}

}  // namespace tidewatch::ingest::internal
