#include "ingest/internal/payload_decoder.h"

#include <optional>
#include <string>

namespace tidewatch::ingest::internal {

StatusOr<PayloadDecoder> PayloadDecoder::Create(std::string_view format,
                                                std::string_view precision) {
  if (format == "json") {
    return Status(StatusCode::kInvalidArgument, "format json: not available yet");
  }
  if (format != "line") {
    return Status(StatusCode::kInvalidArgument,
                  "unknown format '" + std::string(format) + "' (expected \"line\" or \"json\")");
  }
  const std::optional<Precision> unit = ParsePrecision(precision);
  if (!unit) {
    return Status(StatusCode::kInvalidArgument, "unknown precision '" + std::string(precision) +
                                                    "' (expected n, ns, u, us, ms, s, m or h)");
  }
  LineProtocolOptions options;
  options.precision = *unit;
  return PayloadDecoder(Variant(std::in_place_type<LineProtocolDecoder>, options));
}

}  // namespace tidewatch::ingest::internal
