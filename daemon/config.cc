#include "daemon/config.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>

#include "daemon/internal/toml_guard.h"
#include "daemon/internal/toml_reader.h"
#include "daemon/units.h"
#include "ingest/json_decoder.h"

namespace tidewatch::daemon {
namespace {

using internal::EnumName;
using internal::TableReader;
using std::chrono::milliseconds;

constexpr std::uint64_t kMaxThreads = 1024;
constexpr std::uint64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kMaxI64 = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();
constexpr nanoseconds kMinDuration = milliseconds(1);
constexpr std::size_t kMaxTokenFileBytes = 64 << 10;

constexpr std::array<EnumName<LogLevel>, 6> kLogLevels = {{
    {"trace", LogLevel::kTrace},
    {"debug", LogLevel::kDebug},
    {"info", LogLevel::kInfo},
    {"warn", LogLevel::kWarn},
    {"error", LogLevel::kError},
    {"off", LogLevel::kOff},
}};
constexpr std::array<EnumName<LogFormat>, 2> kLogFormats = {{
    {"plain", LogFormat::kPlain},
    {"json", LogFormat::kJson},
}};
constexpr std::array<EnumName<store::OverflowPolicy>, 2> kOverflowPolicies = {{
    {"reject", store::OverflowPolicy::kReject},
    {"drop_oldest", store::OverflowPolicy::kDropOldest},
}};
constexpr std::array<EnumName<CatalogSync>, 2> kCatalogSyncs = {{
    {"full", CatalogSync::kFull},
    {"normal", CatalogSync::kNormal},
}};

constexpr std::array<EnumName<Role>, 3> kRoles = {{
    {"read", Role::kRead},
    {"write", Role::kWrite},
    {"admin", Role::kAdmin},
}};
constexpr std::array<EnumName<std::string_view>, 2> kKafkaFormats = {{
    {"line", "line"},
    {"json", "json"},
}};
// InfluxDB's precision names (ingest/line_protocol.h ParsePrecision), minus "" (absent).
constexpr std::array<EnumName<std::string_view>, 8> kPrecisions = {{
    {"n", "n"},
    {"ns", "ns"},
    {"u", "u"},
    {"us", "us"},
    {"ms", "ms"},
    {"s", "s"},
    {"m", "m"},
    {"h", "h"},
}};
using JsonUnit = ingest::JsonMapping::TimeUnit;
constexpr std::array<EnumName<JsonUnit>, 5> kJsonUnits = {{
    {"ns", JsonUnit::kNanoseconds},
    {"us", JsonUnit::kMicroseconds},
    {"ms", JsonUnit::kMilliseconds},
    {"s", JsonUnit::kSeconds},
    {"rfc3339", JsonUnit::kRfc3339},
}};

// Reads `key` as a string enum into a std::string field.
template <std::size_t N>
void StringEnum(TableReader& t, std::string_view key, std::string& out,
                const std::array<EnumName<std::string_view>, N>& names) {
  std::string_view value = out;
  t.Enum(key, value, names);
  out = std::string(value);
}

void NonEmpty(TableReader& t, std::string_view key, const std::string& value) {
  if (value.empty()) t.Fail(key, "must not be empty");
}

void ReadLog(TableReader& t, LogConfig& c) {
  t.Enum("level", c.level, kLogLevels);
  t.Enum("format", c.format, kLogFormats);
}

void ReadHttp(TableReader& t, HttpConfig& c) {
  t.Bool("enabled", c.enabled);
  t.String("listen", c.listen);
  if (t.Has("listen")) {
    StatusOr<HostPort> address = ParseHostPort(c.listen);
    if (address.ok()) {
      c.listen_host = address->host;
      c.listen_port = address->port;
    } else {
      t.Fail("listen", address.status().message());
    }
  }
  t.Unsigned("threads", c.threads, 1, kMaxThreads);
  t.Size("max_body", c.max_body, 1, kMaxU64);
  t.Size("max_header", c.max_header, 1 << 10, 1 << 20);
  t.Duration("read_timeout", c.read_timeout, kMinDuration);
  t.Duration("write_timeout", c.write_timeout, kMinDuration);
  t.Duration("idle_timeout", c.idle_timeout, kMinDuration);
  t.Bool("auto_create_databases", c.auto_create_databases);
  t.Duration("write_wait", c.write_wait, kMinDuration);
}

void ReadQuery(TableReader& t, QueryConfig& c) {
  t.Duration("timeout", c.timeout, kMinDuration);
  t.Unsigned("max_buckets", c.max_buckets, 1, kMaxU32);
  t.Unsigned("max_series", c.max_series, 1, kMaxU32);
  t.Unsigned("max_rows", c.max_rows, 1, kMaxU32);
  t.Unsigned("threads", c.threads, 1, kMaxThreads);
}

void ReadStorage(TableReader& t, StorageConfig& c) {
  t.String("data_dir", c.data_dir);
  NonEmpty(t, "data_dir", c.data_dir);
  t.Duration("retention", c.retention, kMinDuration);
  t.DurationMap("retention_by_db", c.retention_by_db, kMinDuration);
  t.Unsigned("max_series", c.max_series, 1, kMaxU32);
  t.Size("memory_budget", c.memory_budget, 0, kMaxU64);
  t.Duration("checkpoint_interval", c.checkpoint_interval, kMinDuration);
  t.Duration("maintenance_interval", c.maintenance_interval, kMinDuration);
  t.Bool("compress_sealed_chunks", c.compress_sealed_chunks);
}

void ReadIngest(TableReader& t, IngestConfig& c) {
  t.Unsigned("workers", c.workers, 1, kMaxThreads);
  t.Unsigned("ring_capacity", c.ring_capacity, 2, std::uint64_t{1} << 30);
  if ((c.ring_capacity & (c.ring_capacity - 1)) != 0) {
    t.Fail("ring_capacity", "must be a power of two, got " + std::to_string(c.ring_capacity));
  }
  t.Enum("ring_overflow", c.ring_overflow, kOverflowPolicies);
  t.Unsigned("max_fields", c.max_fields, 1, std::uint64_t{1} << 20);
}

// The secret in `path`, without trailing line breaks.
StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(StatusCode::kInvalidArgument,
                  "cannot read " + QuoteForError(path) + ": " + std::strerror(errno));
  }
  std::string secret(kMaxTokenFileBytes + 1, '\0');
  in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  if (in.bad()) {
    return Status(StatusCode::kInvalidArgument, "cannot read " + QuoteForError(path));
  }
  secret.resize(static_cast<std::size_t>(in.gcount()));
  if (secret.size() > kMaxTokenFileBytes) {
    return Status(StatusCode::kInvalidArgument, QuoteForError(path) + " is too large");
  }
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.empty())
    return Status(StatusCode::kInvalidArgument, QuoteForError(path) + " is empty");
  return secret;
}

// A secret must survive an Authorization header and a URL parameter unchanged.
bool IsPrintableWithoutSpace(std::string_view text) {
  for (char c : text) {
    if (c <= ' ' || c >= 0x7f) return false;
  }
  return true;
}

void ReadToken(TableReader& t, TokenConfig& token, const std::vector<TokenConfig>& previous) {
  t.RequiredString("name", token.name);
  std::optional<std::string> secret;
  t.OptionalString("token", secret);
  t.OptionalString("token_file", token.token_file);
  t.Enum("role", token.role, kRoles);
  if (t.describing()) return;
  if (token.name.find(':') != std::string::npos) {
    t.Fail("name", "must not contain ':' (HTTP Basic auth splits name:token there)");
  }
  const char* secret_key = "token";
  if (secret && token.token_file) {
    t.Fail("token", "set token or token_file, not both");
  } else if (secret) {
    token.token = *secret;
  } else if (token.token_file) {
    secret_key = "token_file";
    StatusOr<std::string> read = ReadTokenFile(*token.token_file);
    if (!read.ok()) {
      t.Fail("token_file", read.status().message());
    } else {
      token.token = *read;
    }
  } else if (!t.Has("token") && !t.Has("token_file")) {
    t.Fail("token", "missing: set token or token_file");
  }
  if (!token.token.empty() && !IsPrintableWithoutSpace(token.token)) {
    t.Fail(secret_key, "the secret must be printable ASCII without spaces");
  }
  for (const TokenConfig& other : previous) {
    if (!token.name.empty() && other.name == token.name) {
      t.Fail("name", "duplicate token name " + QuoteForError(token.name));
    }
    if (!token.token.empty() && other.token == token.token) {
      t.Fail(secret_key, "the same secret as token " + QuoteForError(other.name));
    }
  }
}

void ReadAuth(TableReader& t, AuthConfig& c) {
  t.Bool("enabled", c.enabled);
  t.TableArray("tokens", c.tokens,
               [&c](TableReader& sub, TokenConfig& token) { ReadToken(sub, token, c.tokens); });
  if (c.enabled && c.tokens.empty()) {
    t.Fail("enabled", "auth is enabled but there is no [[auth.tokens]] entry");
  }
}

void ReadSimulator(TableReader& t, SimulatorConfig& c) {
  t.Bool("enabled", c.enabled);
  t.String("database", c.database);
  NonEmpty(t, "database", c.database);
  t.Unsigned("sites", c.sites, 1, 1000);
  t.Unsigned("sensors_per_site", c.sensors_per_site, 1, 999);
  t.StringList("kinds", c.kinds);
  if (t.Has("kinds") && c.kinds.empty()) t.Fail("kinds", "must list at least one kind");
  t.Duration("interval", c.interval, kMinDuration);
  t.Double("excursion_probability", c.excursion_probability, 0.0, 1.0);
  t.Unsigned("seed", c.seed, 0, kMaxI64);
  t.Duration("backfill", c.backfill, nanoseconds(0));
}

void ReadRules(TableReader& t, RulesConfig& c) {
  t.String("file", c.file);
  t.Duration("tick_interval", c.tick_interval, kMinDuration);
  t.Duration("window_lateness", c.window_lateness, nanoseconds(0));
  t.Duration("window_idle_timeout", c.window_idle_timeout, nanoseconds(0));
  t.Unsigned("max_instances_per_rule", c.max_instances_per_rule, 1, kMaxU32);
  t.String("external_url", c.external_url);
  t.Enum("catalog_sync", c.catalog_sync, kCatalogSyncs);
  t.Duration("outbox_retention", c.outbox_retention, nanoseconds(0));
}

void ReadJsonMapping(TableReader& t, ingest::JsonMapping& m) {
  t.String("timestamp_key", m.timestamp_key);
  t.Enum("timestamp_unit", m.timestamp_unit, kJsonUnits);
  t.String("measurement_key", m.measurement_key);
  t.String("measurement", m.measurement);
  t.StringList("tag_keys", m.tag_keys);
  t.StringList("field_keys", m.field_keys);
}

// The decoder's own checks of `m` (reserved, duplicate or malformed member names),
// reported at the key they name; returns an error no key claims.
Status CheckJsonMapping(TableReader& t, const ingest::JsonMapping& m) {
  StatusOr<ingest::JsonDecoder> decoder = ingest::JsonDecoder::Create(m);
  if (decoder.ok()) return Status::Ok();
  const Status status = decoder.status();
  const std::string& message = status.message();
  const std::size_t colon = message.find(": ");
  const std::string key = message.substr(0, colon);
  for (const char* known :
       {"timestamp_key", "measurement_key", "measurement", "tag_keys", "field_keys"}) {
    if (colon != std::string::npos && key == known) {
      t.Fail(known, message.substr(colon + 2));
      return Status::Ok();
    }
  }
  return status;
}

void ReadKafka(TableReader& t, ingest::KafkaSourceConfig& c) {
  t.RequiredString("brokers", c.brokers);
  t.RequiredString("group_id", c.group_id);
  t.StringList("topics", c.topics, /*required=*/true);
  StringEnum(t, "format", c.format, kKafkaFormats);
  t.String("database", c.database);
  NonEmpty(t, "database", c.database);
  StringEnum(t, "precision", c.precision, kPrecisions);
  t.OptionalString("dead_letter_topic", c.dead_letter_topic);
  std::uint64_t max_message_bytes = c.max_message_bytes;
  t.Size("max_message_bytes", max_message_bytes, 1, std::uint64_t{1} << 30);
  c.max_message_bytes = static_cast<std::size_t>(max_message_bytes);
  t.Unsigned("ticket_capacity", c.ticket_capacity, 1, std::uint64_t{1} << 24);
  nanoseconds drain_timeout = c.drain_timeout_ms;
  t.Duration("drain_timeout", drain_timeout, kMinDuration);
  c.drain_timeout_ms = std::chrono::duration_cast<milliseconds>(drain_timeout);
  t.Bool("commit_without_snapshot", c.commit_without_snapshot);
  t.StringMap("properties", c.properties);
  t.StringMap("dead_letter_properties", c.dead_letter_properties);
  ingest::JsonMapping mapping;
  Status decoder_status;
  const bool has_json = t.Table("json", [&](TableReader& sub) {
    ReadJsonMapping(sub, mapping);
    if (c.format == "json" && !sub.describing()) decoder_status = CheckJsonMapping(sub, mapping);
  });
  if (has_json && c.format != "json") {
    t.Fail("json", "a [kafka.json] table needs format = \"json\"");
  }
  if (!decoder_status.ok()) t.Fail("json", decoder_status.message());
  if (c.format != "json") return;
  c.json = mapping;
}

void ReadConfig(TableReader& root, DaemonConfig& c) {
  root.Table("log", [&c](TableReader& t) { ReadLog(t, c.log); });
  root.Table("http", [&c](TableReader& t) { ReadHttp(t, c.http); });
  root.Table("query", [&c](TableReader& t) { ReadQuery(t, c.query); });
  root.Table("storage", [&c](TableReader& t) { ReadStorage(t, c.storage); });
  root.Table("ingest", [&c](TableReader& t) { ReadIngest(t, c.ingest); });
  root.Table("auth", [&c](TableReader& t) { ReadAuth(t, c.auth); });
  root.Table("simulator", [&c](TableReader& t) { ReadSimulator(t, c.simulator); });
  root.Table("rules", [&c](TableReader& t) { ReadRules(t, c.rules); });
  root.TableArray("kafka", c.kafka, ReadKafka);
  root.TableArray("channels", c.channels, ReadChannel);
}

// Every known key with its default, from describing the defaults.
const internal::KeyDescriptions& Schema() {
  static const internal::KeyDescriptions schema = [] {
    internal::KeyDescriptions keys;
    DaemonConfig defaults = DefaultConfig();
    TableReader root("", &keys);
    ReadConfig(root, defaults);
    return keys;
  }();
  return schema;
}

}  // namespace

DaemonConfig DefaultConfig() { return DaemonConfig{}; }

StatusOr<DaemonConfig> ParseConfig(std::string_view toml, std::string_view source_name) {
  if (toml.size() > kMaxConfigBytes) {
    return Status(StatusCode::kInvalidArgument, std::string(source_name) + ": larger than " +
                                                    FormatSize(kMaxConfigBytes) +
                                                    "; not a config file?");
  }
  internal::ConfigErrors errors{std::string(source_name)};
  if (const std::uint32_t line = internal::FindOverlyDottedLine(toml); line != 0) {
    errors.Add(toml::source_position{line, 1}, "",
               "more than " + std::to_string(internal::kMaxDotsPerLine) +
                   " dots on one line; keys nested that deep are refused");
    return errors.ToStatus();
  }
  toml::parse_result parsed = toml::parse(toml, source_name);
  if (!parsed) {
    errors.Add(parsed.error().source().begin, "", parsed.error().description());
    return errors.ToStatus();
  }
  DaemonConfig config = DefaultConfig();
  TableReader root(&parsed.table(), "", &errors);
  ReadConfig(root, config);
  root.RejectUnknownKeys();
  if (errors.empty()) {
    // Across channels (names, fallbacks): reported at the first [[channels]] table.
    if (Status s = CheckChannels(config.channels); !s.ok()) {
      const toml::node* channels = parsed.table().get("channels");
      const toml::source_position where =
          channels != nullptr ? channels->source().begin : toml::source_position{};
      std::string_view lines = s.message();
      while (!lines.empty()) {
        const std::size_t end = std::min(lines.find('\n'), lines.size());
        errors.Add(where, "", lines.substr(0, end));
        lines.remove_prefix(std::min(end + 1, lines.size()));
      }
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  return config;
}

StatusOr<DaemonConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return Status(error == ENOENT ? StatusCode::kNotFound : StatusCode::kInvalidArgument,
                  "cannot read config file " + path + ": " + std::strerror(error));
  }
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return Status(StatusCode::kInvalidArgument, "cannot read config file " + path);
  }
  text.resize(static_cast<std::size_t>(in.gcount()));
  return ParseConfig(text, path);
}

std::vector<std::string> KnownConfigKeys() {
  std::vector<std::string> keys;
  for (const auto& [key, text] : Schema()) keys.push_back(key);
  return keys;
}

std::string DefaultValueText(std::string_view key) {
  for (const auto& [known, text] : Schema()) {
    if (known == key) return text;
  }
  return {};
}

store::StoreOptions ToStoreOptions(const DaemonConfig& config) {
  const StorageConfig& s = config.storage;
  store::StoreOptions options;
  options.index.max_series_per_db = s.max_series;
  options.windows.compress_sealed_chunks = s.compress_sealed_chunks;
  options.default_retention_ns = s.retention.count();
  for (const auto& [db, retention] : s.retention_by_db) {
    options.retention_by_db.emplace(db, retention.count());
  }
  options.memory_budget_bytes = static_cast<std::size_t>(s.memory_budget);
  return options;
}

store::FieldRingsOptions ToFieldRingsOptions(const DaemonConfig& config) {
  store::FieldRingsOptions options;
  options.defaults.capacity = config.ingest.ring_capacity;
  options.defaults.policy = config.ingest.ring_overflow;
  options.max_fields = config.ingest.max_fields;
  return options;
}

}  // namespace tidewatch::daemon
