// POST /write end to end: real sockets, a real Store, FieldRings and EvaluationWorkers.
#include "daemon/write_endpoint.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <atomic>
#include <charconv>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/health_endpoints.h"
#include "ingest/evaluation_workers.h"
#include "ingest/http_write.h"
#include "store/field_rings.h"
#include "store/store.h"
#include "tests/daemon/http_test_client.h"

namespace tidewatch::daemon {
namespace {

using test_http::Client;
using test_http::Fetch;
using test_http::Str;
namespace http = boost::beast::http;

constexpr std::uint32_t kTicketTable = 1;
constexpr std::int64_t kNowNs = 1'700'000'000'123'456'789;

std::string Gzip(std::string_view data) {
  z_stream zs{};
  EXPECT_EQ(
      deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Every series of the store with its points: "db measurement,tags field ts=value ...".
std::string Dump(const store::Store& store) {
  std::vector<std::pair<std::string, store::SeriesId>> series;
  store.index().ForEach([&](store::SeriesId id, const store::SeriesInfo& info) {
    std::string key = info.db + " " + info.measurement;
    for (const store::Tag& tag : info.tags) key += "," + tag.key + "=" + tag.value;
    series.emplace_back(key + " " + info.field, id);
  });
  std::sort(series.begin(), series.end());
  constexpr store::Timestamp kMin = std::numeric_limits<store::Timestamp>::min();
  constexpr store::Timestamp kMax = std::numeric_limits<store::Timestamp>::max();
  std::string out;
  store::SeriesSnapshot snapshot;
  store::internal::ChunkBuffer scratch;
  for (const auto& [key, id] : series) {
    out += key;
    if (store.windows().Read(id, kMin, kMax, snapshot)) {
      store::ForEachRun(
          snapshot, kMin, kMax, scratch,
          [&](const store::Timestamp* ts, const double* values, std::size_t n) {
            for (std::size_t i = 0; i < n; ++i) {
              std::array<char, 32> number{};
              const auto r = std::to_chars(number.data(), number.data() + number.size(), values[i]);
              out += " " + std::to_string(ts[i]) + "=" + std::string(number.data(), r.ptr);
            }
          });
    }
    out += "\n";
  }
  return out;
}

unsigned StatusOf(const std::optional<test_http::Response>& response) {
  return response ? response->result_int() : 0u;
}

struct TestConfig {
  ingest::HttpWriteOptions write;
  store::FieldRingsOptions rings;
  store::StoreOptions store;
  std::size_t max_body = 1 << 20;
  bool start_workers = true;
};

class WriteEndpointTest : public ::testing::Test {
 protected:
  void Start(TestConfig setup = {}) {
    store_ = std::make_unique<store::Store>(setup.store);
    rings_ = std::make_unique<store::FieldRings>(setup.rings);
    write_ = std::make_unique<ingest::HttpWrite>(*store_, *rings_, kTicketTable, setup.write);
    if (setup.start_workers) StartWorkers();
    HttpServerOptions options;
    options.port = 0;
    options.threads = 4;
    options.max_body = setup.max_body;
    server_ = std::make_unique<HttpServer>(options);
    WriteEndpointOptions endpoint;
    endpoint.max_body = setup.max_body;
    endpoint.now_ns = [] { return kNowNs; };
    AddWriteEndpoint(*server_, *write_, endpoint);
    AddHealthEndpoints(*server_, ready_);
    const Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    port_ = server_->port();
  }

  void StartWorkers() {
    workers_ = std::make_unique<ingest::EvaluationWorkers>(
        *rings_, *store_, std::vector<ingest::TicketTable*>{nullptr, &write_->tickets()}, 2);
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (workers_) workers_->Stop();
  }

  std::optional<test_http::Response> Write(std::string_view target, std::string body,
                                           const test_http::Headers& headers = {}) {
    return Fetch(port_, http::verb::post, target, std::move(body), headers);
  }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::FieldRings> rings_;
  std::unique_ptr<ingest::HttpWrite> write_;
  std::unique_ptr<ingest::EvaluationWorkers> workers_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<HttpServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(WriteEndpointTest, WriteIs204AndReadableRightAfter) {
  Start();
  auto res = Write("/write?db=plant",
                   "temp,site=a value=1.5 1000\ntemp,site=a value=2.5,n=3i 2000\nflag ok=true\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 204u) << res->body();
  EXPECT_EQ(Str((*res)["X-Influxdb-Version"]), "1.8.10");
  // No waiting: the answer came after the points were stored.
  EXPECT_EQ(Dump(*store_), "plant flag ok " + std::to_string(kNowNs) +
                               "=1\n"
                               "plant temp,site=a n 2000=3\n"
                               "plant temp,site=a value 1000=1.5 2000=2.5\n");
  const ingest::HttpWriteStats stats = write_->stats();
  EXPECT_EQ(stats.points_written, 4u);
  EXPECT_EQ(server_->stats().count("/write", 204), 1u);
}

TEST_F(WriteEndpointTest, PartialWriteIs400AndStoresTheGoodLines) {
  Start();
  auto res = Write("/write?db=plant", "temp value=1 1\ntemp value=\ntemp value=2 2\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400u);
  EXPECT_EQ(Str((*res)[http::field::content_type]), "application/json");
  EXPECT_EQ(res->body(),
            R"({"error":"partial write: line 2, column 12: unable to parse 'temp value=': )"
            R"(missing field value dropped=1"})");
  EXPECT_EQ(Dump(*store_), "plant temp value 1=1 2=2\n");
  EXPECT_EQ(write_->stats().lines_malformed, 1u);
}

TEST_F(WriteEndpointTest, EveryLineBadIs400WithoutPartialWrite) {
  Start();
  auto res = Write("/write?db=plant", "garbage\nmore garbage here\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400u);
  EXPECT_EQ(res->body().find("partial write"), std::string::npos) << res->body();
  EXPECT_NE(res->body().find("unable to parse 'garbage'"), std::string::npos) << res->body();
  EXPECT_NE(res->body().find("\\nline 2"), std::string::npos) << res->body();
  EXPECT_EQ(Dump(*store_), "");
}

TEST_F(WriteEndpointTest, ManyBadLinesGiveABoundedAnswer) {
  Start();
  std::string body = "temp value=1 1\n";
  for (int i = 0; i < 150; ++i) body += "bad" + std::to_string(i) + "\n";
  auto res = Write("/write?db=plant", body);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400u);
  EXPECT_LT(res->body().size(), 20'000u);
  EXPECT_NE(res->body().find("... and 50 more bad lines dropped=150\"}"), std::string::npos)
      << res->body();
  EXPECT_LE(Str((*res)["X-Influxdb-Error"]).size(), 1024u);
  EXPECT_EQ(Dump(*store_), "plant temp value 1=1\n");
}

TEST_F(WriteEndpointTest, FieldTypeConflictIsPartialWrite) {
  Start();
  ASSERT_EQ(StatusOf(Write("/write?db=plant", "temp value=1 1\n")), 204u);
  auto res = Write("/write?db=plant", "temp value=2i 2\ntemp other=1 3\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400u);
  EXPECT_EQ(res->body().rfind(R"({"error":"partial write: field type conflict: )", 0), 0u)
      << res->body();
  EXPECT_NE(res->body().find(R"( dropped=1"})"), std::string::npos) << res->body();
  EXPECT_EQ(Dump(*store_), "plant temp other 3=1\nplant temp value 1=1\n");
  EXPECT_EQ(write_->stats().points_refused, 1u);
}

TEST_F(WriteEndpointTest, MaxSeriesIsPartialWrite) {
  TestConfig setup;
  setup.store.index.max_series_per_db = 1;
  Start(setup);
  auto res = Write("/write?db=plant", "temp,s=a value=1 1\ntemp,s=b value=1 1\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 400u);
  EXPECT_EQ(
      res->body().rfind(R"({"error":"partial write: max-series-per-database limit exceeded: )", 0),
      0u)
      << res->body();
  EXPECT_EQ(Dump(*store_), "plant temp,s=a value 1=1\n");
}

TEST_F(WriteEndpointTest, DatabaseRequiredAndUnknown) {
  TestConfig setup;
  setup.write.auto_create_databases = false;
  Start(setup);
  auto missing = Write("/write", "temp value=1 1\n");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->result_int(), 400u);
  EXPECT_EQ(missing->body(), R"({"error":"database is required"})");
  auto unknown = Write("/write?db=nope", "temp value=1 1\n");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->result_int(), 404u);
  EXPECT_EQ(unknown->body(), R"({"error":"database not found: \"nope\""})");
  EXPECT_EQ(Dump(*store_), "");
}

TEST_F(WriteEndpointTest, InjectedRegistryDecidesAndAutoCreateCreates) {
  std::vector<std::string> created;
  std::mutex mu;
  TestConfig setup;
  setup.write.db_exists = [](std::string_view db) { return db == "known"; };
  setup.write.create_db = [&](std::string_view db) {
    std::lock_guard lock(mu);
    created.emplace_back(db);
  };
  Start(setup);
  EXPECT_EQ(StatusOf(Write("/write?db=known", "m f=1 1\n")), 204u);
  EXPECT_EQ(StatusOf(Write("/write?db=fresh&rp=autogen", "m f=1 1\n")), 204u);
  std::lock_guard lock(mu);
  EXPECT_EQ(created, std::vector<std::string>{"fresh"});
}

TEST_F(WriteEndpointTest, PrecisionScalesAndBadPrecisionIs400) {
  Start();
  EXPECT_EQ(StatusOf(Write("/write?db=plant&precision=s", "temp value=1 2\n")), 204u);
  EXPECT_EQ(StatusOf(Write("/write?db=plant&precision=ms", "temp value=2 3\n")), 204u);
  auto bad = Write("/write?db=plant&precision=d", "temp value=3 4\n");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->result_int(), 400u);
  EXPECT_EQ(bad->body(), R"j({"error":"invalid precision \"d\" (use n, u, ms, s, m or h)"})j");
  EXPECT_EQ(Dump(*store_), "plant temp value 3000000=2 2000000000=1\n");
}

TEST_F(WriteEndpointTest, GzipBodies) {
  TestConfig setup;
  setup.max_body = 4096;
  Start(setup);
  auto ok = Write("/write?db=plant", Gzip("temp value=7 7\n"), {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 204u) << ok->body();
  EXPECT_EQ(Dump(*store_), "plant temp value 7=7\n");

  auto corrupt = Write("/write?db=plant", "definitely not gzip", {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(corrupt);
  EXPECT_EQ(corrupt->result_int(), 400u);
  EXPECT_EQ(corrupt->body().rfind(R"({"error":"gzip: )", 0), 0u) << corrupt->body();

  std::string truncated = Gzip("temp value=8 8\n");
  truncated.resize(truncated.size() / 2);
  auto cut = Write("/write?db=plant", truncated, {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->result_int(), 400u);

  // 100 KiB of the same line inflates past max_body (4 KiB) from a tiny body.
  std::string big;
  while (big.size() < 100 * 1024) big += "temp value=9 9\n";
  const std::string bomb = Gzip(big);
  ASSERT_LT(bomb.size(), 4096u);
  auto res = Write("/write?db=plant", bomb, {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413u);
  EXPECT_EQ(Dump(*store_), "plant temp value 7=7\n");
}

TEST_F(WriteEndpointTest, OversizeBodyIs413) {
  TestConfig setup;
  setup.max_body = 64;
  Start(setup);
  auto res = Write("/write?db=plant", std::string(65, 'x'));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 413u);
  EXPECT_EQ(server_->stats().count("/write", 413), 1u);
}

TEST_F(WriteEndpointTest, StringFieldsAreCountedNotStoredAndEmptyBodyIs204) {
  Start();
  EXPECT_EQ(StatusOf(Write("/write?db=plant", "temp value=1,note=\"hi there\" 5\n")), 204u);
  EXPECT_EQ(StatusOf(Write("/write?db=plant", "")), 204u);
  EXPECT_EQ(StatusOf(Write("/write?db=plant", "# only a comment\n\n")), 204u);
  EXPECT_EQ(Dump(*store_), "plant temp value 5=1\n");
  EXPECT_EQ(write_->stats().string_fields, 1u);
}

TEST_F(WriteEndpointTest, FullRingIs503AndNothingAcknowledgedIsLost) {
  TestConfig setup;
  setup.rings.defaults.capacity = 2;
  setup.start_workers = false;
  // Generous: the retry below must ride out scheduling hiccups of a loaded machine.
  setup.write.ring_retry = std::chrono::milliseconds(1500);
  setup.write.write_wait = std::chrono::milliseconds(2000);
  Start(setup);
  std::string body;
  for (int i = 1; i <= 5; ++i)
    body += "temp value=" + std::to_string(i) + " " + std::to_string(i) + "\n";

  // Workers stopped: two points fit the ring, the rest does not.
  const auto stalled_before = write_->stats().wait_timeouts;
  auto res = Write("/write?db=plant", body);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 503u);
  EXPECT_EQ(Str((*res)["Retry-After"]), "1");
  EXPECT_NE(res->body().find("ring full: 2 of 5 points queued"), std::string::npos) << res->body();
  EXPECT_EQ(write_->stats().points_backpressure, 3u);
  EXPECT_EQ(write_->stats().wait_timeouts, stalled_before);

  // Workers start: the queued points are stored, the client's retry goes through.
  StartWorkers();
  auto retry = Write("/write?db=plant", body);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->result_int(), 204u) << retry->body();
  EXPECT_EQ(Dump(*store_), "plant temp value 1=1 2=2 3=3 4=4 5=5\n");
}

TEST_F(WriteEndpointTest, ConcurrentWritersAllLand) {
  Start();
  constexpr int kWriters = 4;
  constexpr int kRequests = 20;
  constexpr int kLines = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      Client client(port_);
      for (int r = 0; r < kRequests; ++r) {
        std::string body;
        for (int l = 0; l < kLines; ++l) {
          body += "load,writer=w" + std::to_string(w) + " value=" + std::to_string(l) + ",x=1i " +
                  std::to_string(r * kLines + l) + "\n";
        }
        auto res = client.Send(http::verb::post, "/write?db=plant", body);
        if (res && res->result_int() == 204) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kWriters * kRequests);
  // Each 204 came after its points were stored: all are there now.
  EXPECT_EQ(store_->windows().point_count(),
            static_cast<std::uint64_t>(kWriters * kRequests * kLines * 2));
  EXPECT_EQ(write_->stats().points_written,
            static_cast<std::uint64_t>(kWriters * kRequests * kLines * 2));
}

TEST_F(WriteEndpointTest, HealthEndpoints) {
  Start();
  auto ping = Fetch(port_, http::verb::get, "/ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->result_int(), 204u);
  EXPECT_EQ(Str((*ping)["X-Influxdb-Version"]), "1.8.10");
  auto head = Fetch(port_, http::verb::head, "/ping");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->result_int(), 204u);
  auto verbose = Fetch(port_, http::verb::get, "/ping?verbose=true");
  ASSERT_TRUE(verbose);
  EXPECT_EQ(verbose->result_int(), 200u);
  EXPECT_EQ(verbose->body(), R"({"version":"1.8.10"})");
  EXPECT_EQ(StatusOf(Fetch(port_, http::verb::get, "/ping?verbose=false")), 204u);
  auto health = Fetch(port_, http::verb::get, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body(), R"({"status":"pass"})");
  auto not_ready = Fetch(port_, http::verb::get, "/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->result_int(), 503u);
  ready_.store(true);
  auto ready = Fetch(port_, http::verb::get, "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->result_int(), 200u);
  EXPECT_EQ(StatusOf(Fetch(port_, http::verb::post, "/ping")), 405u);
}

}  // namespace
}  // namespace tidewatch::daemon
