// The daemon's configuration: one TOML file (docs/CONFIG.md lists every option with its
// type, default and meaning). Every option has a default, a missing table means all of
// its defaults, and the default config runs with no Kafka.
//
// Loading is strict: a wrong type, an out-of-range value, an unknown key or table (a
// typo) is an error, and every error of the file is reported at once, one per line, as
// "<file>:<line>:<column>: <key.path>: <what is wrong>".
//
// Thread safety: DaemonConfig is a plain value; the functions are pure (LoadConfig
// reads files).
#ifndef TIDEWATCH_DAEMON_CONFIG_H_
#define TIDEWATCH_DAEMON_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/auth.h"
#include "daemon/channel_config.h"
#include "ingest/kafka_source.h"
#include "store/field_rings.h"
#include "store/status.h"
#include "store/store.h"

namespace tidewatch::daemon {

using std::chrono::nanoseconds;

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class LogFormat { kPlain, kJson };

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kPlain;
};

struct HttpConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:8086";
  // `listen` split; kept in step by the parser.
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8086;
  std::size_t threads = 2;                           // io_context threads
  std::uint64_t max_body = std::uint64_t{25} << 20;  // bytes, after gzip inflation
  std::uint64_t max_header = std::uint64_t{16} << 10;
  nanoseconds read_timeout = std::chrono::seconds(10);  // the whole request, against slowloris
  nanoseconds write_timeout = std::chrono::seconds(10);
  nanoseconds idle_timeout = std::chrono::seconds(60);  // keep-alive
  bool auto_create_databases = true;
  nanoseconds write_wait = std::chrono::seconds(5);  // /write waits this long for storage, then 503
};

struct QueryConfig {
  nanoseconds timeout = std::chrono::seconds(30);
  std::size_t max_buckets = 1'000'000;
  std::size_t max_series = 100'000;
  std::size_t max_rows = 1'000'000;
  std::size_t threads = 4;
};

struct StorageConfig {
  std::string data_dir = "./tidewatch-data";
  nanoseconds retention = std::chrono::hours(1);
  std::map<std::string, nanoseconds> retention_by_db;
  std::size_t max_series = 1'000'000;                    // per database
  std::uint64_t memory_budget = std::uint64_t{1} << 30;  // 0 disables
  nanoseconds checkpoint_interval = std::chrono::minutes(1);
  nanoseconds maintenance_interval = std::chrono::seconds(10);
  bool compress_sealed_chunks = true;
};

struct IngestConfig {
  std::size_t workers = 2;
  std::size_t ring_capacity = 65536;  // per field, a power of two
  store::OverflowPolicy ring_overflow = store::OverflowPolicy::kReject;
  std::size_t max_fields = 1024;
};

// One [[auth.tokens]] entry (daemon/auth.h checks them).
struct TokenConfig {
  std::string name;
  // The secret: from `token`, or read from `token_file` at load. Never log it.
  std::string token;
  std::optional<std::string> token_file;
  Role role = Role::kRead;
};

struct AuthConfig {
  bool enabled = false;
  std::vector<TokenConfig> tokens;  // names and secrets distinct
};

struct SimulatorConfig {
  bool enabled = false;
  std::string database = "plant";
  std::size_t sites = 2;
  std::size_t sensors_per_site = 100;
  std::vector<std::string> kinds = {"pressure", "temperature", "flow"};
  nanoseconds interval = std::chrono::seconds(1);
  double excursion_probability = 0.001;
  std::uint64_t seed = 42;
  // History written at startup, ending now, so a fresh quickstart has data to show.
  nanoseconds backfill{0};
};

enum class CatalogSync { kFull, kNormal };  // rules::Durability

struct RulesConfig {
  std::string file;  // empty: no rules file
  nanoseconds tick_interval = std::chrono::milliseconds(250);  // timers, window closes
  // Aggregate alert rules, and continuous queries without RESAMPLE FOR / EVERY.
  nanoseconds window_lateness = nanoseconds(0);
  nanoseconds window_idle_timeout = std::chrono::seconds(10);
  std::size_t max_instances_per_rule = 100'000;
  std::string external_url;  // notifications' generator URL base; "" = http://<http.listen>
  CatalogSync catalog_sync = CatalogSync::kFull;
  // Delivered notifications stay in the outbox this long; 0 keeps them all.
  nanoseconds outbox_retention = std::chrono::hours(120);
};

struct DaemonConfig {
  LogConfig log;
  HttpConfig http;
  QueryConfig query;
  StorageConfig storage;
  IngestConfig ingest;
  AuthConfig auth;
  SimulatorConfig simulator;
  RulesConfig rules;
  std::vector<ingest::KafkaSourceConfig> kafka;  // [[kafka]], zero or more
  std::vector<ChannelConfig> channels;           // [[channels]]
};

// Config files larger than this are refused unread.
inline constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;

// Every option at its default.
DaemonConfig DefaultConfig();

// Parses TOML text; `source_name` names it in error messages (a path, "<test>").
// Errors: kInvalidArgument listing every problem, one per line (see the file comment),
// including a token_file that cannot be read or is empty; text larger than
// kMaxConfigBytes.
[[nodiscard]] StatusOr<DaemonConfig> ParseConfig(std::string_view toml,
                                                 std::string_view source_name);

// Reads and parses the file at `path`. Errors: kNotFound (no such file), kInvalidArgument
// (unreadable, too large, or ParseConfig's errors).
[[nodiscard]] StatusOr<DaemonConfig> LoadConfig(const std::string& path);

// Every key the parser knows, as full dotted paths in file order ("http.listen",
// "storage.retention_by_db", "kafka.json.tag_keys", "auth.tokens.role"), for the docs.
std::vector<std::string> KnownConfigKeys();

// The default of `key` (one of KnownConfigKeys()) as TOML text ("\"127.0.0.1:8086\"",
// "2", "true", "[]", "{}"); empty for a required key or one unset by default, and for an
// unknown key.
std::string DefaultValueText(std::string_view key);

// The store's and the rings' options as configured.
store::StoreOptions ToStoreOptions(const DaemonConfig& config);
store::FieldRingsOptions ToFieldRingsOptions(const DaemonConfig& config);


}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_CONFIG_H_
