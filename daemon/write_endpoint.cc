#include "daemon/write_endpoint.h"

#include <chrono>
#include <string>
#include <utility>

#include "daemon/gzip.h"

namespace tidewatch::daemon {

namespace {

std::int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsGzip(std::string_view encoding) {
  static constexpr std::string_view kGzip = "gzip";
  if (encoding.size() != kGzip.size()) return false;
  for (std::size_t i = 0; i < kGzip.size(); ++i) {
    const char c = encoding[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c) != kGzip[i]) return false;
  }
  return true;
}

Response ToResponse(ingest::HttpWriteResult result) {
  switch (result.kind) {
    case ingest::HttpWriteKind::kOk:
      return Response::NoContent();
    case ingest::HttpWriteKind::kInvalid:
    case ingest::HttpWriteKind::kPartial:
      return Response::Error(400, result.error);
    case ingest::HttpWriteKind::kDbNotFound:
      return Response::Error(404, result.error);
    case ingest::HttpWriteKind::kUnavailable: {
      Response response = Response::Error(503, result.error);
      response.headers.emplace_back("Retry-After", "1");
      return response;
    }
  }
  return Response::Error(500, "unknown write outcome");
}

}  // namespace

HttpServer::Handler MakeWriteHandler(ingest::HttpWrite& write, WriteEndpointOptions options) {
  if (!options.now_ns) options.now_ns = SystemNowNs;
  return [&write, options = std::move(options)](const Request& request) -> Response {
    std::string inflated;
    std::string_view body = request.body;
    if (IsGzip(request.header("content-encoding"))) {
      StatusOr<std::string> gunzipped = Gunzip(body, options.max_body);
      if (!gunzipped.ok()) {
        const Status& s = gunzipped.status();
        if (s.code() == StatusCode::kResourceExhausted) {
          return Response::Error(413, "Request Entity Too Large");
        }
        return Response::Error(400, s.message());
      }
      inflated = std::move(gunzipped).value();
      body = inflated;
    }
    ingest::HttpWriteRequest write_request;
    write_request.db = request.param("db");
    write_request.precision = request.param("precision");
    write_request.body = body;
    write_request.now_ns = options.now_ns();
    return ToResponse(write.Write(write_request));
  };
}

void AddWriteEndpoint(HttpServer& server, ingest::HttpWrite& write, WriteEndpointOptions options) {
  server.Handle("/write", {"POST"}, Role::kWrite, MakeWriteHandler(write, std::move(options)));
}

}  // namespace tidewatch::daemon
