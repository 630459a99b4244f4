#include "daemon/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace tidewatch::daemon {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kSourceDir = TIDEWATCH_SOURCE_DIR;

// The error message of parsing `text` as "t.toml", or "OK".
std::string Errors(std::string_view text) {
  StatusOr<DaemonConfig> config = ParseConfig(text, "t.toml");
  return config.ok() ? "OK" : config.status().message();
}

DaemonConfig Parse(std::string_view text) {
  StatusOr<DaemonConfig> config = ParseConfig(text, "t.toml");
  EXPECT_TRUE(config.ok()) << config.status().message();
  return config.ok() ? *config : DefaultConfig();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A file in a fresh temporary directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tidewatch-config-XXXXXX").string();
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string path = path_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

 private:
  std::string path_;
};

TEST(ConfigTest, EmptyFileGivesTheDefaults) {
  const DaemonConfig c = Parse("");
  const DaemonConfig d = DefaultConfig();
  EXPECT_EQ(c.log.level, LogLevel::kInfo);
  EXPECT_EQ(c.log.format, LogFormat::kPlain);
  EXPECT_TRUE(c.http.enabled);
  EXPECT_EQ(c.http.listen, "127.0.0.1:8086");
  EXPECT_EQ(c.http.listen_host, "127.0.0.1");
  EXPECT_EQ(c.http.listen_port, 8086);
  EXPECT_EQ(c.http.threads, 2u);
  EXPECT_EQ(c.http.max_body, 25u << 20);
  EXPECT_EQ(c.http.max_header, 16u << 10);
  EXPECT_EQ(c.http.idle_timeout, seconds(60));
  EXPECT_EQ(c.http.write_wait, seconds(5));
  EXPECT_EQ(c.query.timeout, seconds(30));
  EXPECT_EQ(c.query.max_buckets, 1'000'000u);
  EXPECT_EQ(c.query.threads, 4u);
  EXPECT_EQ(c.storage.data_dir, "./tidewatch-data");
  EXPECT_EQ(c.storage.retention, hours(1));
  EXPECT_EQ(c.storage.memory_budget, std::uint64_t{1} << 30);
  EXPECT_EQ(c.storage.checkpoint_interval, minutes(1));
  EXPECT_EQ(c.ingest.workers, 2u);
  EXPECT_EQ(c.ingest.ring_capacity, 65536u);
  EXPECT_EQ(c.ingest.ring_overflow, store::OverflowPolicy::kReject);
  EXPECT_FALSE(c.auth.enabled);
  EXPECT_TRUE(c.auth.tokens.empty());
  EXPECT_FALSE(c.simulator.enabled);
  EXPECT_EQ(c.simulator.kinds, d.simulator.kinds);
  EXPECT_EQ(c.simulator.seed, 42u);
  EXPECT_TRUE(c.rules.file.empty());
  EXPECT_TRUE(c.kafka.empty());
  // An empty table is the same as a missing one.
  EXPECT_EQ(Parse("[http]\n[storage]\n").http.listen, "127.0.0.1:8086");
}

TEST(ConfigTest, ReadsEveryTable) {
  const DaemonConfig c = Parse(R"(
[log]
level = "debug"
format = "json"
[http]
enabled = false
listen = "[::1]:9999"
threads = 8
max_body = "1MB"
max_header = 65536
read_timeout = "1s"
write_timeout = "2s"
idle_timeout = "3s"
auto_create_databases = false
write_wait = "250ms"
[query]
timeout = "1m30s"
max_buckets = 10
max_series = 11
max_rows = 12
threads = 1
[storage]
data_dir = "/var/lib/tw"
retention = "24h"
max_series = 5
memory_budget = 0
checkpoint_interval = "5m"
maintenance_interval = "1s"
compress_sealed_chunks = false
[storage.retention_by_db]
plant = "8760h"
"db.with.dots" = "10m"
[ingest]
workers = 3
ring_capacity = 1024
ring_overflow = "drop_oldest"
max_fields = 7
[simulator]
enabled = true
database = "sim"
sites = 3
sensors_per_site = 4
kinds = ["flow"]
interval = "100ms"
excursion_probability = 1
seed = 7
[rules]
file = "/etc/tidewatch/rules.toml"
)");
  EXPECT_EQ(c.log.level, LogLevel::kDebug);
  EXPECT_EQ(c.log.format, LogFormat::kJson);
  EXPECT_FALSE(c.http.enabled);
  EXPECT_EQ(c.http.listen_host, "::1");
  EXPECT_EQ(c.http.listen_port, 9999);
  EXPECT_EQ(c.http.threads, 8u);
  EXPECT_EQ(c.http.max_body, 1'000'000u);
  EXPECT_EQ(c.http.max_header, 65536u);
  EXPECT_EQ(c.http.write_wait, milliseconds(250));
  EXPECT_EQ(c.query.timeout, seconds(90));
  EXPECT_EQ(c.query.max_rows, 12u);
  EXPECT_EQ(c.storage.data_dir, "/var/lib/tw");
  EXPECT_EQ(c.storage.retention_by_db.at("plant"), hours(8760));
  EXPECT_EQ(c.storage.retention_by_db.at("db.with.dots"), minutes(10));
  EXPECT_EQ(c.storage.memory_budget, 0u);
  EXPECT_FALSE(c.storage.compress_sealed_chunks);
  EXPECT_EQ(c.ingest.ring_overflow, store::OverflowPolicy::kDropOldest);
  EXPECT_TRUE(c.simulator.enabled);
  EXPECT_EQ(c.simulator.kinds, std::vector<std::string>{"flow"});
  EXPECT_EQ(c.simulator.excursion_probability, 1.0);
  EXPECT_EQ(c.rules.file, "/etc/tidewatch/rules.toml");

  const store::StoreOptions store = ToStoreOptions(c);
  EXPECT_EQ(store.default_retention_ns, 86'400'000'000'000);
  EXPECT_EQ(store.retention_by_db.at("plant"), 31'536'000'000'000'000);
  EXPECT_EQ(store.memory_budget_bytes, 0u);
  EXPECT_EQ(store.index.max_series_per_db, 5u);
  EXPECT_FALSE(store.windows.compress_sealed_chunks);
  const store::FieldRingsOptions rings = ToFieldRingsOptions(c);
  EXPECT_EQ(rings.defaults.capacity, 1024u);
  EXPECT_EQ(rings.defaults.policy, store::OverflowPolicy::kDropOldest);
  EXPECT_EQ(rings.max_fields, 7u);
}

TEST(ConfigTest, ReadsKafkaSources) {
  const DaemonConfig c = Parse(R"([[kafka]]
brokers = "a:9092,b:9092"
group_id = "g"
topics = ["sensors", "^plant\\..*"]
database = "plant"
precision = "ms"
dead_letter_topic = "dlq"
max_message_bytes = "64KiB"
ticket_capacity = 128
drain_timeout = "1500ms"
commit_without_snapshot = true
[kafka.properties]
"security.protocol" = "plaintext"
"session.timeout.ms" = 45000
"enable.partition.eof" = false
[kafka.dead_letter_properties]
"linger.ms" = 5
[[kafka]]
brokers = "c:9092"
group_id = "h"
topics = ["json"]
format = "json"
[[kafka]]
brokers = "c:9092"
group_id = "i"
topics = ["json2"]
format = "json"
[kafka.json]
timestamp_unit = "rfc3339"
measurement_key = "m"
tag_keys = ["site"]
field_keys = ["v"]
)");
  ASSERT_EQ(c.kafka.size(), 3u);
  const ingest::KafkaSourceConfig& k = c.kafka[0];
  EXPECT_EQ(k.brokers, "a:9092,b:9092");
  EXPECT_EQ(k.topics, (std::vector<std::string>{"sensors", "^plant\\..*"}));
  EXPECT_EQ(k.format, "line");
  EXPECT_FALSE(k.json.has_value());
  EXPECT_EQ(k.database, "plant");
  EXPECT_EQ(k.precision, "ms");
  EXPECT_EQ(k.dead_letter_topic, "dlq");
  EXPECT_EQ(k.max_message_bytes, 65536u);
  EXPECT_EQ(k.ticket_capacity, 128u);
  EXPECT_EQ(k.drain_timeout_ms, milliseconds(1500));
  EXPECT_TRUE(k.commit_without_snapshot);
  EXPECT_EQ(k.properties, (std::map<std::string, std::string>{{"enable.partition.eof", "false"},
                                                              {"security.protocol", "plaintext"},
                                                              {"session.timeout.ms", "45000"}}));
  EXPECT_EQ(k.dead_letter_properties.at("linger.ms"), "5");
  ASSERT_TRUE(c.kafka[1].json.has_value()) << "format json without a table: defaults";
  EXPECT_EQ(c.kafka[1].json->timestamp_key, "time");
  ASSERT_TRUE(c.kafka[2].json.has_value());
  EXPECT_EQ(c.kafka[2].json->timestamp_unit, ingest::JsonMapping::TimeUnit::kRfc3339);
  EXPECT_EQ(c.kafka[2].json->measurement_key, "m");
  EXPECT_EQ(c.kafka[2].json->tag_keys, std::vector<std::string>{"site"});
  EXPECT_EQ(c.kafka[2].json->field_keys, std::vector<std::string>{"v"});
}

TEST(ConfigTest, ReadsAuthTokensFromTheFileAndFromFiles) {
  TempDir dir;
  const std::string file = dir.Write("grafana.token", "from-file\r\n\n");
  const DaemonConfig c = Parse(
      "[auth]\nenabled = true\n[[auth.tokens]]\nname = \"grafana\"\n"
      "token_file = \"" +
      file +
      "\"\n[[auth.tokens]]\nname = \"ops\"\n"
      "token = \"inline\"\nrole = \"admin\"\n");
  ASSERT_EQ(c.auth.tokens.size(), 2u);
  EXPECT_EQ(c.auth.tokens[0].token, "from-file");
  EXPECT_EQ(c.auth.tokens[0].token_file, file);
  EXPECT_EQ(c.auth.tokens[0].role, Role::kRead);
  EXPECT_EQ(c.auth.tokens[1].token, "inline");
  EXPECT_EQ(RoleName(c.auth.tokens[1].role), "admin");

  const std::string empty = dir.Write("empty.token", "\n");
  EXPECT_EQ(Errors("[[auth.tokens]]\nname = \"a\"\ntoken_file = \"" + empty + "\"\n"),
            "t.toml:3:14: auth.tokens[0].token_file: \"" + empty + "\" is empty");
  EXPECT_NE(
      Errors("[[auth.tokens]]\nname = \"a\"\ntoken_file = \"" + dir.Write("x", "") + "/nope\"\n")
          .find("t.toml:3:14: auth.tokens[0].token_file: cannot read"),
      std::string::npos);
}

// Each case: a config and the one error it must produce, with line and column.
TEST(ConfigTest, ReportsEachValidationErrorWithItsLocation) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[log]\nlevel = \"verbose\"",
       "t.toml:2:9: log.level: expected one of trace, debug, info, warn, error, off, got "
       "\"verbose\""},
      {"[log]\nformat = 1", "t.toml:2:10: log.format: expected one of plain, json, got an integer"},
      {"[http]\nlisten = \"localhost\"",
       "t.toml:2:10: http.listen: expected host:port like \"127.0.0.1:8086\" or \"[::1]:8086\", "
       "got \"localhost\" (no port)"},
      {"[http]\nlisten = \"127.0.0.1:65536\"", "port must be 0..65535"},
      {"[http]\nlisten = \"::1:80\"", "an IPv6 address needs brackets"},
      {"[http]\nthreads = 0", "t.toml:2:11: http.threads: must be in 1..1024, got 0"},
      {"[http]\nthreads = -3", "t.toml:2:11: http.threads: must be in 1..1024, got -3"},
      {"[http]\nthreads = \"2\"", "t.toml:2:11: http.threads: expected an integer, got a string"},
      {"[http]\nenabled = \"yes\"",
       "t.toml:2:11: http.enabled: expected true or false, got a string"},
      {"[http]\nread_timeout = \"30 seconds\"",
       "t.toml:2:16: http.read_timeout: expected a duration like \"30s\" or \"1h30m\", got \"30 "
       "seconds\""},
      {"[http]\nread_timeout = 30", "http.read_timeout: expected a duration string like"},
      {"[http]\nwrite_wait = \"0s\"", "t.toml:2:14: http.write_wait: must be at least 1ms"},
      {"[http]\nmax_body = \"10 MB\"", "t.toml:2:12: http.max_body: expected a size like"},
      {"[http]\nmax_body = -1", "t.toml:2:12: http.max_body: must not be negative"},
      {"[http]\nmax_body = 0", "http.max_body: must be in 1..18446744073709551615, got 0"},
      {"[http]\nmax_header = \"4MiB\"", "http.max_header: must be in 1KiB..1MiB, got 4MiB"},
      {"[storage]\ndata_dir = \"\"", "t.toml:2:12: storage.data_dir: must not be empty"},
      {"[storage.retention_by_db]\nplant = \"forever\"",
       "t.toml:2:9: storage.retention_by_db.plant: expected a duration"},
      {"[storage]\nretention_by_db = 5",
       "storage.retention_by_db: expected a table [storage.retention_by_db], got an integer"},
      {"[ingest]\nring_capacity = 1000",
       "t.toml:2:17: ingest.ring_capacity: must be a power of two, got 1000"},
      {"[ingest]\nring_capacity = 1", "ingest.ring_capacity: must be in 2..1073741824, got 1"},
      {"[ingest]\nring_overflow = \"drop\"",
       "t.toml:2:17: ingest.ring_overflow: expected one of reject, drop_oldest, got \"drop\""},
      {"[ingest]\nworkers = 0", "ingest.workers: must be in 1..1024"},
      {"[auth]\nenabled = true",
       "t.toml:2:11: auth.enabled: auth is enabled but there is no [[auth.tokens]] entry"},
      {"[[auth.tokens]]\nname = \"a\"\ntoken = \"x\"\nrole = \"root\"",
       "t.toml:4:8: auth.tokens[0].role: expected one of read, write, admin, got \"root\""},
      {"[[auth.tokens]]\nname = \"a\"",
       "t.toml:1:1: auth.tokens[0].token: missing: set token "
       "or token_file"},
      {"[[auth.tokens]]\ntoken = \"x\"", "t.toml:1:1: auth.tokens[0].name: missing required key"},
      {"[[auth.tokens]]\nname = \"a:b\"\ntoken = \"x\"",
       "t.toml:2:8: auth.tokens[0].name: must not contain ':'"},
      {"[[auth.tokens]]\nname = \"a\"\ntoken = \"x y\"",
       "t.toml:3:9: auth.tokens[0].token: the secret must be printable ASCII without spaces"},
      {"[[auth.tokens]]\nname = \"a\"\ntoken = \"x\"\ntoken_file = \"/f\"",
       "t.toml:3:9: auth.tokens[0].token: set token or token_file, not both"},
      {"[[auth.tokens]]\nname = \"a\"\ntoken = \"\"",
       "t.toml:3:9: auth.tokens[0].token: must not be empty (leave the key out instead)"},
      {"[[auth.tokens]]\nname = \"a\"\ntoken = \"x\"\n[[auth.tokens]]\nname = \"a\"\ntoken = "
       "\"y\"",
       "t.toml:5:8: auth.tokens[1].name: duplicate token name \"a\""},
      {"[[auth.tokens]]\nname = \"a\"\ntoken = \"x\"\n[[auth.tokens]]\nname = \"b\"\ntoken = "
       "\"x\"",
       "t.toml:6:9: auth.tokens[1].token: the same secret as token \"a\""},
      {"[auth]\ntokens = 3",
       "auth.tokens: expected an array of tables [[auth.tokens]], got an integer"},
      {"[simulator]\nexcursion_probability = 1.5",
       "t.toml:2:25: simulator.excursion_probability: must be in 0.0..1.0, got 1.5"},
      {"[simulator]\nkinds = []", "t.toml:2:9: simulator.kinds: must list at least one kind"},
      {"[simulator]\nkinds = [\"flow\", \"flow\"]",
       "t.toml:2:18: simulator.kinds: duplicate \"flow\""},
      {"[simulator]\nkinds = [\"flow\", 3]",
       "t.toml:2:18: simulator.kinds: expected an array of strings, got an integer"},
      {"[simulator]\nsensors_per_site = 1000", "simulator.sensors_per_site: must be in 1..999"},
      {"[simulator]\nseed = -1", "simulator.seed: must be in 0..9223372036854775807, got -1"},
      {"[[kafka]]\ngroup_id = \"g\"\ntopics = [\"t\"]",
       "t.toml:1:1: kafka[0].brokers: missing required key"},
      {"[[kafka]]\nbrokers = \"b\"\ntopics = [\"t\"]", "kafka[0].group_id: missing required key"},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"", "kafka[0].topics: missing required key"},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = []",
       "t.toml:4:10: kafka[0].topics: must list at least one"},
      {"[[kafka]]\nbrokers = \"\"\ngroup_id = \"g\"\ntopics = [\"t\"]",
       "t.toml:2:11: kafka[0].brokers: must not be empty"},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\nformat = \"avro\"",
       "t.toml:5:10: kafka[0].format: expected one of line, json, got \"avro\""},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\nprecision = \"sec\"",
       "kafka[0].precision: expected one of n, ns, u, us, ms, s, m, h, got \"sec\""},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\n[kafka.json]\n",
       "t.toml:5:1: kafka[0].json: a [kafka.json] table needs format = \"json\""},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\nformat = "
       "\"json\"\n[kafka.json]\ntimestamp_unit = \"minutes\"",
       "t.toml:7:18: kafka[0].json.timestamp_unit: expected one of ns, us, ms, s, rfc3339"},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\nformat = "
       "\"json\"\n[kafka.json]\nmeasurement = \"\"",
       "t.toml:7:15: kafka[0].json.measurement: \"\" is empty, and measurement_key is empty "
       "too"},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\nformat = "
       "\"json\"\n[kafka.json]\ntag_keys = [\"_field\"]",
       "t.toml:7:12: kafka[0].json.tag_keys: \"_field\" is reserved"},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\nticket_capacity = "
       "16777217",
       "kafka[0].ticket_capacity: must be in 1..16777216"},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\nmax_message_bytes = "
       "\"2GiB\"",
       "kafka[0].max_message_bytes: must be in 1..1GiB, got 2GiB"},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\n[kafka.properties]\n"
       "security.protocol = \"ssl\"",
       "t.toml:6:1: kafka[0].properties.security: expected a string, number or boolean, got a "
       "table (quote dotted names: \"a.b\" = \"value\")"},
      {"[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\n[kafka.properties]\n"
       "\"x\" = [1]",
       "kafka[0].properties.x: expected a string, number or boolean, got an array"},
      {"[kafka]\nbrokers = \"b\"",
       "t.toml:1:1: kafka: expected an array of tables [[kafka]], got a table"},
      {"http = 5", "t.toml:1:8: http: expected a table [http], got an integer"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string errors = Errors(text);
    EXPECT_NE(errors.find(expected), std::string::npos)
        << "config:\n"
        << text << "\nexpected: " << expected << "\ngot: " << errors;
    EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 0) << errors;
  }
}

TEST(ConfigTest, UnknownKeysAndTablesAreErrorsWithASuggestion) {
  EXPECT_EQ(Errors("[http]\nlisten = \"127.0.0.1:1\"\nlistn = \"x\""),
            "t.toml:3:1: http.listn: unknown key (did you mean \"listen\"?)");
  EXPECT_EQ(Errors("[htp]\n"), "t.toml:1:2: htp: unknown table (did you mean \"http\"?)");
  EXPECT_EQ(Errors("[ingest]\nring_capcity = 2"),
            "t.toml:2:1: ingest.ring_capcity: unknown key (did you mean \"ring_capacity\"?)");
  EXPECT_EQ(Errors("[query]\ncolour = 1"), "t.toml:2:1: query.colour: unknown key");
  EXPECT_EQ(Errors("level = \"info\""), "t.toml:1:1: level: unknown key");
  EXPECT_EQ(Errors("[http.tls]\ncert = \"x\""), "t.toml:1:7: http.tls: unknown table");
  EXPECT_EQ(Errors("[[auth.tokens]]\nname = \"a\"\ntoken = \"x\"\nrloe = \"read\""),
            "t.toml:4:1: auth.tokens[0].rloe: unknown key (did you mean \"role\"?)");
  EXPECT_EQ(Errors("[[kafka]]\nbrokers = \"b\"\ngroup_id = \"g\"\ntopics = [\"t\"]\n"
                   "format = \"json\"\n[kafka.json]\ntag_key = []"),
            "t.toml:7:1: kafka[0].json.tag_key: unknown key (did you mean \"tag_keys\"?)");
}

TEST(ConfigTest, ReportsAllErrorsAtOnceInFileOrder) {
  const std::string errors = Errors(R"([http]
listen = "nowhere"
threads = 0
[ingest]
ring_capacity = 3
ring_overflow = "sometimes"
[storage]
retention = "1 hour"
[log]
levle = "info"
)");
  EXPECT_EQ(errors,
            "t.toml:2:10: http.listen: expected host:port like \"127.0.0.1:8086\" or "
            "\"[::1]:8086\", got \"nowhere\" (no port)\n"
            "t.toml:3:11: http.threads: must be in 1..1024, got 0\n"
            "t.toml:5:17: ingest.ring_capacity: must be a power of two, got 3\n"
            "t.toml:6:17: ingest.ring_overflow: expected one of reject, drop_oldest, got "
            "\"sometimes\"\n"
            "t.toml:8:13: storage.retention: expected a duration like \"30s\" or \"1h30m\", got "
            "\"1 hour\" (unknown unit \" hour\"; use h, m, s, ms, us or ns)\n"
            "t.toml:10:1: log.levle: unknown key (did you mean \"level\"?)");
}

TEST(ConfigTest, CapsTheNumberOfReportedErrors) {
  std::string text = "[storage.retention_by_db]\n";
  for (int i = 0; i < 500; ++i) text += "db" + std::to_string(i) + " = \"x\"\n";
  const std::string errors = Errors(text);
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 100);
  EXPECT_NE(errors.find("... and 400 more errors"), std::string::npos);
}

TEST(ConfigTest, SurvivesHostileInput) {
  // TOML syntax errors carry their position.
  EXPECT_NE(Errors("[http\nlisten = 1").find("t.toml:1:"), std::string::npos);
  EXPECT_NE(Errors("[http]\nthreads = 99999999999999999999999").find("t.toml:2:"),
            std::string::npos);
  EXPECT_EQ(Errors("[ingest]\nring_capacity = 9223372036854775807"),
            "t.toml:2:17: ingest.ring_capacity: must be in 2..1073741824, got "
            "9223372036854775807");
  EXPECT_NE(Errors("[http]\nmax_body = \"99999999999999999999999GiB\"").find("too large"),
            std::string::npos);
  EXPECT_EQ(Errors("[http]\nmax_body = \"18446744073709551615\""), "OK");
  EXPECT_EQ(Errors("[simulator]\nexcursion_probability = nan"),
            "t.toml:2:25: simulator.excursion_probability: must be in 0.0..1.0, got nan");
  EXPECT_EQ(Errors("[simulator]\nexcursion_probability = -inf"),
            "t.toml:2:25: simulator.excursion_probability: must be in 0.0..1.0, got -inf");
  // Invalid UTF-8 and NUL bytes.
  EXPECT_NE(Errors("[log]\nlevel = \"\xff\xfe\"").find("t.toml:2:"), std::string::npos);
  EXPECT_NE(Errors(std::string("[log]\nlevel = \"in\0fo\"", 20)), "OK");
  EXPECT_NE(Errors(std::string("\0\0\0", 3)), "OK");
  // Deeply nested tables and arrays.
  std::string nested = "[a";
  for (int i = 0; i < 500000; ++i) nested += ".b";
  EXPECT_EQ(Errors(nested + "]\n"),
            "t.toml:1:1: more than 1000 dots on one line; keys nested that deep are refused");
  nested = "[a";  // as deep as allowed
  for (int i = 0; i < 1000; ++i) nested += ".b";
  EXPECT_EQ(Errors(nested + "]\n"), "t.toml:1:2: a: unknown table");
  // Quoted and commented dots do not count; nor do dots on earlier lines.
  const std::string dots(2000, '.');
  EXPECT_EQ(Errors("# " + dots + "\n[rules]\nfile = \"" + dots + "\"\n"), "OK");
  EXPECT_EQ(Errors("[rules]\nfile = '''\n" + dots + "\n'''\n"), "OK");
  EXPECT_EQ(Errors("[rules]\nfile = \"\\\"" + dots + "\"\n"), "OK");
  EXPECT_NE(Errors("x = " + std::string(100000, '[')), "OK");
  EXPECT_NE(Errors("x = " + std::string(100000, '{')), "OK");
  // Random bytes just under the size limit, and 10 MB of garbage (refused unread).
  std::mt19937 random(1);
  std::string garbage(kMaxConfigBytes, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  EXPECT_NE(Errors(garbage), "OK");
  garbage.assign(10 << 20, 'x');
  EXPECT_EQ(Errors(garbage), "t.toml: larger than 1MiB; not a config file?");
  // A huge unknown key still gets a bounded answer.
  EXPECT_LT(Errors("[http]\n" + std::string(100000, 'k') + " = 1").size(), 100100u);
}

TEST(ConfigTest, LoadConfigReadsFilesAndReportsMissingOnes) {
  TempDir dir;
  StatusOr<DaemonConfig> loaded = LoadConfig(dir.Write("a.toml", "[http]\nthreads = 3\n"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->http.threads, 3u);
  const std::string bad = dir.Write("bad.toml", "[http]\nthreads = 0\n");
  StatusOr<DaemonConfig> failed = LoadConfig(bad);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), bad + ":2:11: http.threads: must be in 1..1024, got 0");
  StatusOr<DaemonConfig> missing = LoadConfig(dir.Write("x", "") + ".missing");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(ConfigTest, ExampleConfigsParse) {
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSourceDir + "/deploy/examples")) {
    if (entry.path().extension() != ".toml") continue;
    ++found;
    StatusOr<DaemonConfig> config = LoadConfig(entry.path().string());
    if (config.ok()) continue;
    // Examples may name token files that exist only on the target machine; every other
    // error is a broken example.
    std::istringstream errors(config.status().message());
    std::string line;
    while (std::getline(errors, line)) {
      EXPECT_NE(line.find("token_file: cannot read \"/etc/"), std::string::npos) << line;
    }
  }
  EXPECT_GE(found, 1);
}

// The ```toml block after the "## Complete example" heading of docs/CONFIG.md.
std::string DocExample(const std::string& doc) {
  const std::size_t heading = doc.find("## Complete example");
  const std::size_t begin = doc.find("```toml\n", heading);
  const std::size_t end = doc.find("```", begin + 8);
  if (heading == std::string::npos || begin == std::string::npos || end == std::string::npos) {
    return "missing example";
  }
  return doc.substr(begin + 8, end - begin - 8);
}

TEST(ConfigDocsTest, CompleteExampleParses) {
  const std::string doc = ReadFile(kSourceDir + "/docs/CONFIG.md");
  const DaemonConfig c = Parse(DocExample(doc));
  EXPECT_EQ(c.kafka.size(), 2u);
  EXPECT_EQ(c.auth.tokens.size(), 2u);
  EXPECT_EQ(c.storage.retention_by_db.size(), 1u);
}

// Every option row "| `key` | type | default | meaning |" of docs/CONFIG.md must name a
// key the parser knows, with its default; and every known key must have a row.
TEST(ConfigDocsTest, DocumentsEveryKeyWithItsDefault) {
  std::istringstream doc(ReadFile(kSourceDir + "/docs/CONFIG.md"));
  std::set<std::string> documented;
  std::string line;
  while (std::getline(doc, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::size_t pos = 1;
    while (cells.size() < 3) {
      const std::size_t bar = line.find(" | ", pos);
      if (bar == std::string::npos) break;
      cells.push_back(line.substr(pos + 1, bar - pos - 1));
      pos = bar + 2;
    }
    ASSERT_EQ(cells.size(), 3u) << line;
    ASSERT_GE(cells[0].size(), 2u) << line;
    const std::string key = cells[0].substr(1, cells[0].size() - 2);
    EXPECT_TRUE(documented.insert(key).second) << "documented twice: " << key;
    const std::string text = DefaultValueText(key);
    if (text.empty()) {
      EXPECT_TRUE(cells[2] == "*required*" || cells[2] == "*unset*") << line;
    } else {
      EXPECT_EQ(cells[2], "`" + text + "`") << key;
    }
  }
  const std::vector<std::string> known = KnownConfigKeys();
  EXPECT_GE(known.size(), 60u);
  for (const std::string& key : known) {
    EXPECT_TRUE(documented.count(key)) << "not documented: " << key;
  }
  for (const std::string& key : documented) {
    EXPECT_NE(std::find(known.begin(), known.end(), key), known.end())
        << "documented but unknown to the parser: " << key;
  }
}

TEST(ConfigDocsTest, DefaultValuesParseBackToTheDefaults) {
  // Rendering the defaults of one table as a file must give the defaults again; checks
  // DefaultValueText against the parser for the scalar keys.
  std::string text;
  std::string table;
  for (const std::string& key : KnownConfigKeys()) {
    const std::size_t dot = key.rfind('.');
    const std::string prefix = key.substr(0, dot);
    const std::string value = DefaultValueText(key);
    if (value.empty() || prefix.find('.') != std::string::npos || prefix == "kafka" ||
        prefix == "channels") {
      continue;
    }
    if (prefix != table) text += "[" + (table = prefix) + "]\n";
    text += key.substr(dot + 1) + " = " + value + "\n";
  }
  const DaemonConfig c = Parse(text);
  EXPECT_EQ(c.http.idle_timeout, DefaultConfig().http.idle_timeout);
  EXPECT_EQ(c.storage.memory_budget, DefaultConfig().storage.memory_budget);
  EXPECT_EQ(c.simulator.excursion_probability, DefaultConfig().simulator.excursion_probability);
  EXPECT_EQ(c.simulator.kinds, DefaultConfig().simulator.kinds);
  EXPECT_EQ(DefaultValueText("http.listen"), "\"127.0.0.1:8086\"");
  EXPECT_EQ(DefaultValueText("kafka.max_message_bytes"), "\"1MiB\"");
  EXPECT_EQ(DefaultValueText("no.such.key"), "");
}

}  // namespace
}  // namespace tidewatch::daemon
