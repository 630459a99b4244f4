// daemon/channel_config.h: [[channels]] through the config parser, the same settings as
// JSON (API bodies, catalog rows), the canonical JSON round trip, redaction and the
// mapping onto the delivery worker's and the emitters' options.
#include "daemon/channel_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/config.h"

namespace tidewatch::daemon {
namespace {

using rules::ChannelKind;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

// The error message of parsing `text` as "t.toml", or "OK".
std::string Errors(std::string_view text) {
  StatusOr<DaemonConfig> config = ParseConfig(text, "t.toml");
  return config.ok() ? "OK" : config.status().message();
}

std::vector<ChannelConfig> Channels(std::string_view text) {
  StatusOr<DaemonConfig> config = ParseConfig(text, "t.toml");
  EXPECT_TRUE(config.ok()) << config.status().message();
  return config.ok() ? config->channels : std::vector<ChannelConfig>{};
}

std::string JsonErrors(std::string_view json) {
  StatusOr<ChannelConfig> channel = ParseChannelJson(json);
  if (channel.ok()) return "OK";
  EXPECT_EQ(channel.status().code(), StatusCode::kInvalidArgument);
  return channel.status().message();
}

ChannelConfig FromJson(std::string_view json) {
  StatusOr<ChannelConfig> channel = ParseChannelJson(json);
  EXPECT_TRUE(channel.ok()) << channel.status().message();
  return channel.ok() ? *channel : ChannelConfig{};
}

// A webhook channel "a" with one more line.
std::string Webhook(std::string_view line) {
  return "[[channels]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n" +
         std::string(line) + "\n";
}

// ---- TOML ----

TEST(ChannelConfigToml, NoChannelsByDefault) {
  EXPECT_TRUE(DefaultConfig().channels.empty());
  StatusOr<DaemonConfig> config = ParseConfig("", "t.toml");
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->channels.empty());
}

TEST(ChannelConfigToml, WebhookDefaults) {
  const std::vector<ChannelConfig> channels = Channels(Webhook(""));
  ASSERT_EQ(channels.size(), 1u);
  ChannelConfig expected;
  expected.name = "a";
  expected.kind = ChannelKind::kWebhook;
  expected.url = "http://127.0.0.1:9/";
  EXPECT_EQ(channels[0], expected);
  // The header's defaults, spelled out.
  const ChannelConfig& c = channels[0];
  EXPECT_EQ(c.connect_timeout, seconds(5));
  EXPECT_EQ(c.request_timeout, seconds(10));
  EXPECT_TRUE(c.headers.empty());
  EXPECT_EQ(c.max_concurrency, 4u);
  EXPECT_EQ(c.rate, 0);
  EXPECT_EQ(c.burst, 1);
  EXPECT_EQ(c.max_attempts, 10u);
  EXPECT_EQ(c.max_age, hours(24));
  EXPECT_EQ(c.backoff_base, seconds(1));
  EXPECT_EQ(c.backoff_cap, minutes(5));
  EXPECT_EQ(c.lease, seconds(60));
  EXPECT_EQ(c.breaker_failures, 5u);
  EXPECT_EQ(c.breaker_open_for, seconds(30));
  EXPECT_EQ(c.fallback, "");
  EXPECT_EQ(c.fallback_after_failures, 3u);
}

TEST(ChannelConfigToml, EveryKindWithEveryKey) {
  const std::vector<ChannelConfig> channels = Channels(R"(
[[channels]]
name = "hook"
kind = "webhook"
url = "https://hooks.example.test/x?y=1"
headers = { Authorization = "Bearer abc", "X-Count" = 5 }
connect_timeout = "2s"
request_timeout = "3s"
ca_file = "/etc/ssl/ca.pem"
insecure_skip_verify = true
body_template = '{"text": {{ .Field.status }}}'
max_concurrency = 8
rate = 2.5
burst = 10
max_attempts = 20
max_age = "1h"
backoff_base = "100ms"
backoff_cap = "10s"
lease = "30s"
breaker_failures = 0
breaker_open_for = "1m"
fallback = "am"
fallback_after_failures = 2

[[channels]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:9093"
resend_interval = "30s"
resolve_timeout = "5m"
resolved_resend_for = "1h"

[[channels]]
name = "cq-out.1"
kind = "kafka"
brokers = "127.0.0.1:9092"
topic = "downsampled"
send_timeout = "5s"
continuous_queries = ["plant.cq_10s", "*"]
[channels.properties]
"compression.type" = "zstd"
"acks" = "-1"
)");
  ASSERT_EQ(channels.size(), 3u);
  const ChannelConfig& hook = channels[0];
  EXPECT_EQ(hook.kind, ChannelKind::kWebhook);
  EXPECT_EQ(hook.url, "https://hooks.example.test/x?y=1");
  EXPECT_EQ(hook.headers, (std::map<std::string, std::string>{{"Authorization", "Bearer abc"},
                                                              {"X-Count", "5"}}));
  EXPECT_EQ(hook.connect_timeout, seconds(2));
  EXPECT_EQ(hook.request_timeout, seconds(3));
  EXPECT_EQ(hook.ca_file, "/etc/ssl/ca.pem");
  EXPECT_TRUE(hook.insecure_skip_verify);
  EXPECT_EQ(hook.body_template, R"({"text": {{ .Field.status }}})");
  EXPECT_EQ(hook.max_concurrency, 8u);
  EXPECT_EQ(hook.rate, 2.5);
  EXPECT_EQ(hook.burst, 10);
  EXPECT_EQ(hook.max_attempts, 20u);
  EXPECT_EQ(hook.max_age, hours(1));
  EXPECT_EQ(hook.backoff_base, milliseconds(100));
  EXPECT_EQ(hook.backoff_cap, seconds(10));
  EXPECT_EQ(hook.lease, seconds(30));
  EXPECT_EQ(hook.breaker_failures, 0u);
  EXPECT_EQ(hook.breaker_open_for, minutes(1));
  EXPECT_EQ(hook.fallback, "am");
  EXPECT_EQ(hook.fallback_after_failures, 2u);

  const ChannelConfig& am = channels[1];
  EXPECT_EQ(am.kind, ChannelKind::kAlertmanager);
  EXPECT_EQ(am.resend_interval, seconds(30));
  EXPECT_EQ(am.resolve_timeout, minutes(5));
  EXPECT_EQ(am.resolved_resend_for, hours(1));

  const ChannelConfig& kafka = channels[2];
  EXPECT_EQ(kafka.kind, ChannelKind::kKafka);
  EXPECT_EQ(kafka.name, "cq-out.1");
  EXPECT_EQ(kafka.brokers, "127.0.0.1:9092");
  EXPECT_EQ(kafka.topic, "downsampled");
  EXPECT_EQ(kafka.send_timeout, seconds(5));
  EXPECT_EQ(kafka.continuous_queries, (std::vector<std::string>{"plant.cq_10s", "*"}));
  EXPECT_EQ(kafka.properties,
            (std::map<std::string, std::string>{{"acks", "-1"}, {"compression.type", "zstd"}}));
}

TEST(ChannelConfigToml, RequiredKeys) {
  EXPECT_EQ(Errors("[[channels]]\nkind = \"webhook\"\nurl = \"http://h/\"\n"),
            "t.toml:1:1: channels[0].name: missing required key");
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\n"),
            "t.toml:1:1: channels[0].kind: missing required key");
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\nkind = \"webhook\"\n"),
            "t.toml:1:1: channels[0].url: missing required key");
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\nkind = \"alertmanager\"\nurl = \"\"\n"),
            "t.toml:4:7: channels[0].url: must not be empty");
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\nkind = \"kafka\"\n"),
            "t.toml:1:1: channels[0].brokers: missing required key\n"
            "t.toml:1:1: channels[0].topic: missing required key");
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\nkind = \"sms\"\n"),
            "t.toml:3:8: channels[0].kind: expected one of webhook, alertmanager, kafka, got "
            "\"sms\"");
  // An unknown kind does not add errors about keys of the real kinds.
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\nkind = \"sms\"\nurl = \"http://h/\"\n"
                   "topic = \"t\"\n"),
            "t.toml:3:8: channels[0].kind: expected one of webhook, alertmanager, kafka, got "
            "\"sms\"");
}

TEST(ChannelConfigToml, Names) {
  EXPECT_EQ(
      Channels("[[channels]]\nname = \"A-z_0.9\"\nkind = \"webhook\"\nurl = \"http://h/\"\n")[0]
          .name,
      "A-z_0.9");
  EXPECT_EQ(Errors("[[channels]]\nname = \"a b\"\nkind = \"webhook\"\nurl = \"http://h/\"\n"),
            "t.toml:2:8: channels[0].name: may contain only letters, digits, '_', '.' and '-', "
            "got \"a b\"");
  const std::string long_name(65, 'x');
  EXPECT_EQ(Errors("[[channels]]\nname = \"" + long_name +
                   "\"\nkind = \"webhook\"\nurl = \"http://h/\"\n"),
            "t.toml:2:8: channels[0].name: longer than 64 characters");
  EXPECT_EQ(Channels("[[channels]]\nname = \"" + std::string(64, 'x') +
                     "\"\nkind = \"webhook\"\nurl = \"http://h/\"\n")[0]
                .name.size(),
            64u);
  EXPECT_EQ(Errors("[[channels]]\nname = \"\"\nkind = \"webhook\"\nurl = \"http://h/\"\n"),
            "t.toml:2:8: channels[0].name: must not be empty");
}

// Every bound: the limit passes, one step beyond fails with the message shown.
TEST(ChannelConfigToml, Bounds) {
  struct Case {
    const char* ok;
    const char* bad;
    const char* error;  // after "t.toml:5:"
  };
  const Case cases[] = {
      {"max_concurrency = 256", "max_concurrency = 257",
       "19: channels[0].max_concurrency: must be in 1..256, got 257"},
      {"max_concurrency = 1", "max_concurrency = 0",
       "19: channels[0].max_concurrency: must be in 1..256, got 0"},
      {"rate = 0", "rate = -0.5", "8: channels[0].rate: must be in 0.0..1e+09, got -0.5"},
      {"rate = 1e9", "rate = 1.5e9", "8: channels[0].rate: must be in 0.0..1e+09, got 1.5e+09"},
      {"burst = 1", "burst = 0.5", "9: channels[0].burst: must be in 1.0..1e+09, got 0.5"},
      {"max_attempts = 1000000", "max_attempts = 1000001",
       "16: channels[0].max_attempts: must be in 1..1000000, got 1000001"},
      {"max_attempts = 1", "max_attempts = 0",
       "16: channels[0].max_attempts: must be in 1..1000000, got 0"},
      {"max_age = \"1ms\"", "max_age = \"999us\"", "11: channels[0].max_age: must be at least 1ms"},
      {"backoff_base = \"1ms\"", "backoff_base = \"0s\"",
       "16: channels[0].backoff_base: must be at least 1ms"},
      {"backoff_cap = \"1s\"", "backoff_cap = \"999ms\"",
       "15: channels[0].backoff_cap: must be at least backoff_base (1s)"},
      {"lease = \"1s\"", "lease = \"999ms\"", "9: channels[0].lease: must be at least 1s"},
      // At most 10 years: deadlines (now + a duration) stay far from overflowing.
      {"lease = \"87600h\"", "lease = \"87601h\"", "9: channels[0].lease: must be at most 87600h"},
      {"breaker_failures = 0", "breaker_failures = 1000001",
       "20: channels[0].breaker_failures: must be in 0..1000000, got 1000001"},
      {"breaker_open_for = \"1ms\"", "breaker_open_for = \"0s\"",
       "20: channels[0].breaker_open_for: must be at least 1ms"},
      {"fallback_after_failures = 1", "fallback_after_failures = 0",
       "27: channels[0].fallback_after_failures: must be in 1..1000000, got 0"},
      {"connect_timeout = \"1ms\"", "connect_timeout = \"0s\"",
       "19: channels[0].connect_timeout: must be at least 1ms"},
      {"request_timeout = \"1ms\"", "request_timeout = \"0s\"",
       "19: channels[0].request_timeout: must be at least 1ms"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Errors(Webhook(c.ok)), "OK") << c.ok;
    EXPECT_EQ(Errors(Webhook(c.bad)), std::string("t.toml:5:") + c.error) << c.bad;
  }
  const std::string am =
      "[[channels]]\nname = \"a\"\nkind = \"alertmanager\"\nurl = \"http://h\"\n";
  EXPECT_EQ(Errors(am + "resend_interval = \"1ms\"\nresolve_timeout = \"0s\"\n"
                        "resolved_resend_for = \"0s\"\n"),
            "OK");
  EXPECT_EQ(Errors(am + "resend_interval = \"0s\"\n"),
            "t.toml:5:19: channels[0].resend_interval: must be at least 1ms");
  const std::string kafka =
      "[[channels]]\nname = \"a\"\nkind = \"kafka\"\nbrokers = \"b:9092\"\n"
      "topic = \"t\"\n";
  EXPECT_EQ(Errors(kafka + "send_timeout = \"1s\"\n"), "OK");
  EXPECT_EQ(Errors(kafka + "send_timeout = \"999ms\"\n"),
            "t.toml:6:16: channels[0].send_timeout: must be at least 1s");
}

TEST(ChannelConfigToml, WrongTypes) {
  EXPECT_EQ(Errors(Webhook("max_concurrency = \"4\"")),
            "t.toml:5:19: channels[0].max_concurrency: expected an integer, got a string");
  EXPECT_EQ(Errors(Webhook("max_concurrency = 4.0")),
            "t.toml:5:19: channels[0].max_concurrency: expected an integer, got a float");
  EXPECT_EQ(Errors(Webhook("lease = 60")),
            "t.toml:5:9: channels[0].lease: expected a duration string like \"30s\", got an "
            "integer");
  EXPECT_EQ(Errors(Webhook("insecure_skip_verify = \"yes\"")),
            "t.toml:5:24: channels[0].insecure_skip_verify: expected true or false, got a string");
  EXPECT_EQ(Errors(Webhook("headers = \"Authorization: x\"")),
            "t.toml:5:11: channels[0].headers: expected a table [channels[0].headers], got a "
            "string");
  EXPECT_EQ(Errors(Webhook("rate = \"fast\"")),
            "t.toml:5:8: channels[0].rate: expected a number, got a string");
  EXPECT_EQ(Errors(Webhook("lease = \"1 minute\"")),
            "t.toml:5:9: channels[0].lease: expected a duration like \"30s\" or \"1h30m\", got "
            "\"1 minute\" (unknown unit \" minute\"; use h, m, s, ms, us or ns)");
}

TEST(ChannelConfigToml, KeysOfAnotherKind) {
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\nkind = \"kafka\"\nbrokers = \"b\"\ntopic = \"t\"\n"
                   "url = \"http://h/\"\nheaders = { A = \"b\" }\n"),
            "t.toml:6:7: channels[0].url: not a key of a kafka channel\n"
            "t.toml:7:11: channels[0].headers: not a key of a kafka channel");
  EXPECT_EQ(Errors(Webhook("resend_interval = \"1m\"")),
            "t.toml:5:19: channels[0].resend_interval: not a key of a webhook channel");
  EXPECT_EQ(Errors(Webhook("topic = \"t\"")),
            "t.toml:5:9: channels[0].topic: not a key of a webhook channel");
  EXPECT_EQ(Errors(Webhook("continuous_queries = []")),
            "t.toml:5:22: channels[0].continuous_queries: not a key of a webhook channel");
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\nkind = \"alertmanager\"\nurl = \"http://h\"\n"
                   "body_template = \"{}\"\nsend_timeout = \"5s\"\n"),
            "t.toml:5:17: channels[0].body_template: not a key of an alertmanager channel\n"
            "t.toml:6:16: channels[0].send_timeout: not a key of an alertmanager channel");
}

TEST(ChannelConfigToml, UnknownKeys) {
  EXPECT_EQ(Errors(Webhook("urll = \"x\"")),
            "t.toml:5:1: channels[0].urll: unknown key (did you mean \"url\"?)");
  EXPECT_EQ(Errors(Webhook("[channels.retry]\nmax = 1")),
            "t.toml:5:11: channels[0].retry: unknown table");
  EXPECT_EQ(Errors(Webhook("colour = \"red\"")), "t.toml:5:1: channels[0].colour: unknown key");
  EXPECT_EQ(Errors("[channels]\nname = \"a\"\n"),
            "t.toml:1:1: channels: expected an array of tables [[channels]], got a table");
}

TEST(ChannelConfigToml, WhatTheEmittersWouldRefuse) {
  const std::string hook = "[[channels]]\nname = \"a\"\nkind = \"webhook\"\n";
  EXPECT_THAT(Errors(hook + "url = \"ftp://h/\"\n"), HasSubstr("t.toml:4:7: channels[0].url: "));
  EXPECT_THAT(Errors(hook + "url = \"http://\"\n"), HasSubstr("t.toml:4:7: channels[0].url: "));
  EXPECT_EQ(Errors(Webhook("headers = { \"Bad Name\" = \"x\" }")),
            "t.toml:5:11: channels[0].headers: invalid header name \"Bad Name\"");
  EXPECT_EQ(Errors(Webhook("headers = { X = \"a\\nb\" }")),
            "t.toml:5:11: channels[0].headers: header X: the value contains CR, LF or NUL");
  EXPECT_EQ(Errors(Webhook("headers = { Content-Length = \"1\" }")),
            "t.toml:5:11: channels[0].headers: header Content-Length is set by the client and "
            "cannot be configured");
  EXPECT_EQ(Errors(Webhook("headers = { idempotency-key = \"k\" }")),
            "t.toml:5:11: channels[0].headers: the Idempotency-Key header is set per notification "
            "and cannot be configured");
  EXPECT_THAT(Errors(Webhook("body_template = '{\"a\": {{ .Nope }}}'")),
              HasSubstr("t.toml:5:17: channels[0].body_template: webhook body template: "));
  EXPECT_THAT(Errors(Webhook("body_template = '{\"a\": \"{{ .Payload }}\"}'")),
              HasSubstr("t.toml:5:17: channels[0].body_template: webhook body template: does "
                        "not render valid JSON"));
  // Alertmanager checks its headers the same way (it sends the Idempotency-Key too).
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\nkind = \"alertmanager\"\nurl = \"http://h\"\n"
                   "headers = { Connection = \"close\" }\n"),
            "t.toml:5:11: channels[0].headers: header Connection is set by the client and cannot "
            "be configured");
  EXPECT_EQ(Errors("[[channels]]\nname = \"a\"\nkind = \"alertmanager\"\nurl = \"http://h\"\n"
                   "headers = { Idempotency-Key = \"k\" }\n"),
            "t.toml:5:11: channels[0].headers: the Idempotency-Key header is set per notification "
            "and cannot be configured");

  const std::string kafka = "[[channels]]\nname = \"k\"\nkind = \"kafka\"\nbrokers = \"b:9092\"\n";
  EXPECT_EQ(Errors(kafka + "topic = \"a b\"\n"),
            "t.toml:5:9: channels[0].topic: not a Kafka topic name (1..249 of letters, digits, "
            "'.', '_', '-'), got \"a b\"");
  EXPECT_EQ(Errors(kafka + "topic = \"..\"\n"),
            "t.toml:5:9: channels[0].topic: not a Kafka topic name (1..249 of letters, digits, "
            "'.', '_', '-'), got \"..\"");
  EXPECT_EQ(Errors(kafka + "topic = \"" + std::string(249, 't') + "\"\n"), "OK");
  EXPECT_THAT(Errors(kafka + "topic = \"" + std::string(250, 't') + "\"\n"),
              HasSubstr("not a Kafka topic name"));
  EXPECT_EQ(Errors(kafka + "topic = \"t\"\nproperties = { acks = \"1\" }\n"),
            "t.toml:6:14: channels[0].properties: \"acks\" must be \"all\" (the sink is "
            "idempotent with acks=all)");
  EXPECT_EQ(Errors(kafka + "topic = \"t\"\nproperties = { \"enable.idempotence\" = false }\n"),
            "t.toml:6:14: channels[0].properties: \"enable.idempotence\" must be \"true\" (the "
            "sink is idempotent with acks=all)");
  EXPECT_EQ(Errors(kafka + "topic = \"t\"\nproperties = { \"request.required.acks\" = 0 }\n"),
            "t.toml:6:14: channels[0].properties: \"request.required.acks\" must be \"all\" (the "
            "sink is idempotent with acks=all)");
  EXPECT_EQ(Errors(kafka + "topic = \"t\"\nproperties = { acks = \"all\", "
                           "\"enable.idempotence\" = true }\n"),
            "OK");
  for (const char* bad : {"plant", ".cq", "plant.", "**"}) {
    EXPECT_EQ(Errors(kafka + "topic = \"t\"\ncontinuous_queries = [\"" + bad + "\"]\n"),
              std::string("t.toml:6:22: channels[0].continuous_queries: expected \"<db>.<cq "
                          "name>\" or \"*\", got \"") +
                  bad + "\"")
        << bad;
  }
  EXPECT_EQ(Errors(kafka + "topic = \"t\"\ncontinuous_queries = [\"a\", \"a\"]\n"),
            "t.toml:6:28: channels[0].continuous_queries: duplicate \"a\"");
}

TEST(ChannelConfigToml, AcrossChannels) {
  const std::string a = "[[channels]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"http://h/\"\n";
  const std::string b = "[[channels]]\nname = \"b\"\nkind = \"webhook\"\nurl = \"http://h/\"\n";
  EXPECT_EQ(Errors(a + b + a),
            "t.toml:1:1: channels[2] (a): name: duplicate channel name (also channels[0])");
  EXPECT_EQ(Errors(a + "fallback = \"sms\"\n" + b),
            "t.toml:1:1: channels[0] (a): fallback: no channel named \"sms\"");
  EXPECT_EQ(Errors(a + "fallback = \"a\"\n"),
            "t.toml:5:12: channels[0].fallback: must name another channel, not this one");
  // Fallbacks may point either way, and at each other.
  const std::vector<ChannelConfig> channels =
      Channels(a + "fallback = \"b\"\n" + b + "fallback = \"a\"\n");
  ASSERT_EQ(channels.size(), 2u);
  EXPECT_EQ(channels[0].fallback, "b");
  EXPECT_EQ(channels[1].fallback, "a");
}

TEST(ChannelConfigToml, CheckChannelsReportsEveryProblem) {
  ChannelConfig a;
  a.name = "a";
  a.fallback = "zz";
  ChannelConfig self = a;
  self.name = "self";
  self.fallback = "self";
  EXPECT_TRUE(CheckChannels({}).ok());
  const Status status = CheckChannels({a, self, a});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "channels[2] (a): name: duplicate channel name (also channels[0])\n"
            "channels[0] (a): fallback: no channel named \"zz\"\n"
            "channels[1] (self): fallback: must name another channel, not this one\n"
            "channels[2] (a): fallback: no channel named \"zz\"");
}

// The ```toml blocks of the "[[channels]]" section of docs/CONFIG.md, together.
std::string DocExamples() {
  std::ifstream in(std::string(TIDEWATCH_SOURCE_DIR) + "/docs/CONFIG.md");
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t begin = doc.find("## `[[channels]]`");
  const std::size_t end = doc.find("\n## ", begin + 1);
  std::string examples;
  for (std::size_t at = doc.find("```toml\n", begin); at < end;
       at = doc.find("```toml\n", at + 1)) {
    const std::size_t close = doc.find("```\n", at + 8);
    if (close == std::string::npos) break;
    examples += doc.substr(at + 8, close - at - 8);
  }
  return examples;
}

TEST(ChannelConfigToml, DocExamplesParse) {
  const std::vector<ChannelConfig> channels = Channels(DocExamples());
  ASSERT_EQ(channels.size(), 4u);
  EXPECT_EQ(channels[0].kind, ChannelKind::kWebhook);
  EXPECT_EQ(channels[0].fallback, channels[1].name);
  EXPECT_EQ(channels[2].kind, ChannelKind::kAlertmanager);
  EXPECT_EQ(channels[3].kind, ChannelKind::kKafka);
  EXPECT_FALSE(channels[3].continuous_queries.empty());
}

TEST(ChannelConfigToml, EveryKeyIsKnownForTheDocs) {
  const std::vector<std::string> keys = KnownConfigKeys();
  for (const char* key : {"channels.name",
                          "channels.kind",
                          "channels.url",
                          "channels.headers",
                          "channels.connect_timeout",
                          "channels.request_timeout",
                          "channels.ca_file",
                          "channels.insecure_skip_verify",
                          "channels.body_template",
                          "channels.resend_interval",
                          "channels.resolve_timeout",
                          "channels.resolved_resend_for",
                          "channels.brokers",
                          "channels.topic",
                          "channels.send_timeout",
                          "channels.properties",
                          "channels.continuous_queries",
                          "channels.max_concurrency",
                          "channels.rate",
                          "channels.burst",
                          "channels.max_attempts",
                          "channels.max_age",
                          "channels.backoff_base",
                          "channels.backoff_cap",
                          "channels.lease",
                          "channels.breaker_failures",
                          "channels.breaker_open_for",
                          "channels.fallback",
                          "channels.fallback_after_failures"}) {
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
  }
  EXPECT_EQ(DefaultValueText("channels.name"), "");
  EXPECT_EQ(DefaultValueText("channels.kind"), "");
  EXPECT_EQ(DefaultValueText("channels.url"), "");
  EXPECT_EQ(DefaultValueText("channels.topic"), "");
  EXPECT_EQ(DefaultValueText("channels.lease"), "\"1m\"");
  EXPECT_EQ(DefaultValueText("channels.burst"), "1.0");
  EXPECT_EQ(DefaultValueText("channels.headers"), "{}");
}

// ---- JSON ----

TEST(ChannelConfigJson, SameReaderAsToml) {
  const ChannelConfig json = FromJson(
      R"({"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/",
          "headers": {"Authorization": "Bearer x", "X-N": 5}, "lease": "30s", "rate": 2,
          "burst": 2.5, "insecure_skip_verify": true, "fallback": "other"})");
  const std::vector<ChannelConfig> toml = Channels(R"(
[[channels]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:9/"
headers = { Authorization = "Bearer x", X-N = 5 }
lease = "30s"
rate = 2
burst = 2.5
insecure_skip_verify = true
fallback = "other"
[[channels]]
name = "other"
kind = "webhook"
url = "http://127.0.0.1:9/"
)");
  ASSERT_EQ(toml.size(), 2u);
  EXPECT_EQ(json, toml[0]);
  EXPECT_EQ(json.rate, 2.0);
}

TEST(ChannelConfigJson, ErrorsWithoutPositions) {
  EXPECT_EQ(JsonErrors(R"({"kind": "webhook", "url": "http://h/"})"), "name: missing required key");
  EXPECT_EQ(JsonErrors(R"({"name": "a", "kind": "kafka", "brokers": "b"})"),
            "topic: missing required key");
  EXPECT_EQ(JsonErrors(R"({"name": "a", "kind": "kafka", "brokers": "b", "topic": "t",
                           "url": "http://h/"})"),
            "url: not a key of a kafka channel");
  EXPECT_EQ(JsonErrors(R"({"name": "a", "kind": "webhook", "url": "http://h/", "urll": 1})"),
            "urll: unknown key (did you mean \"url\"?)");
  EXPECT_EQ(JsonErrors(R"({"name": "a", "kind": "webhook", "url": "http://h/",
                           "max_concurrency": 0, "lease": "1ms", "fallback": "a"})"),
            "max_concurrency: must be in 1..256, got 0\n"
            "lease: must be at least 1s\n"
            "fallback: must name another channel, not this one");
  EXPECT_EQ(JsonErrors(R"({"name": "a", "kind": "pager"})"),
            "kind: expected one of webhook, alertmanager, kafka, got \"pager\"");
  EXPECT_EQ(JsonErrors(R"({"name": "a", "kind": "webhook", "url": "http://h/",
                           "headers": {"X": {"y": "z"}}})"),
            "headers.X: expected a string, number or boolean, got a table (quote dotted names: "
            "\"a.b\" = \"value\")");
  EXPECT_EQ(JsonErrors(R"({"name": "a", "kind": "kafka", "brokers": "b", "topic": "t",
                           "properties": {"acks": "0"}})"),
            "properties: \"acks\" must be \"all\" (the sink is idempotent with acks=all)");
}

TEST(ChannelConfigJson, WrongTypes) {
  const std::string base = R"({"name": "a", "kind": "webhook", "url": "http://h/", )";
  EXPECT_EQ(JsonErrors(base + R"("max_attempts": "10"})"),
            "max_attempts: expected an integer, got a string");
  EXPECT_EQ(JsonErrors(base + R"("max_attempts": 10.0})"),
            "max_attempts: expected an integer, got a float");
  EXPECT_EQ(JsonErrors(base + R"("lease": 60})"),
            "lease: expected a duration string like \"30s\", got an integer");
  EXPECT_EQ(JsonErrors(base + R"("insecure_skip_verify": 1})"),
            "insecure_skip_verify: expected true or false, got an integer");
  EXPECT_EQ(JsonErrors(base + R"("headers": []})"),
            "headers: expected a table [headers], got an array");
  EXPECT_EQ(JsonErrors(base + R"("fallback": null})"),
            "fallback: null is not a value (leave the key out instead)");
  EXPECT_EQ(JsonErrors(base + R"("headers": {"X": null}})"),
            "headers.X: null is not a value (leave the key out instead)");
  EXPECT_EQ(JsonErrors(R"({"name": ["a"], "kind": "webhook", "url": "http://h/"})"),
            "name: expected a string, got an array\nname: must not be empty");
  EXPECT_EQ(JsonErrors(R"({"name": "a", "kind": "kafka", "brokers": "b", "topic": "t",
                           "continuous_queries": ["x.y", 5]})"),
            "continuous_queries: expected an array of strings, got an integer");
}

TEST(ChannelConfigJson, HostileInput) {
  EXPECT_EQ(JsonErrors(""),
            "invalid JSON: parse error at line 1, column 1: syntax error while parsing value - "
            "unexpected end of input; expected '[', '{', or a literal");
  EXPECT_EQ(JsonErrors("[]"), "expected a JSON object");
  EXPECT_EQ(JsonErrors("\"webhook\""), "expected a JSON object");
  EXPECT_EQ(JsonErrors("null"), "expected a JSON object");
  EXPECT_EQ(JsonErrors("5"), "expected a JSON object");
  EXPECT_THAT(JsonErrors("{"), HasSubstr("invalid JSON: "));
  EXPECT_THAT(JsonErrors(R"({"name": "a"} {})"), HasSubstr("invalid JSON: "));
  EXPECT_THAT(JsonErrors(R"({"name": NaN})"), HasSubstr("invalid JSON: "));
  EXPECT_THAT(JsonErrors(R"({"rate": Infinity})"), HasSubstr("invalid JSON: "));
  EXPECT_THAT(JsonErrors("{\"name\": \"\xff\"}"), HasSubstr("invalid JSON: "));
  EXPECT_EQ(JsonErrors(R"({"name": "a", "name": "b", "kind": "webhook", "url": "http://h/"})"),
            "duplicate member \"name\"");
  EXPECT_EQ(JsonErrors(R"({"name": "a", "kind": "webhook", "url": "http://h/",
                           "headers": {"X": "1", "X": "2"}})"),
            "duplicate member \"X\"");

  // Depth: 4 levels are read (and refused as values), 5 are not parsed.
  const std::string base = R"({"name": "a", "kind": "webhook", "url": "http://h/", )";
  EXPECT_EQ(JsonErrors(base + R"("headers": {"X": {"y": {"z": 1}}}})"),
            "headers.X: expected a string, number or boolean, got a table (quote dotted names: "
            "\"a.b\" = \"value\")");
  EXPECT_EQ(JsonErrors(base + R"("headers": {"X": {"y": {"z": {}}}}})"),
            "nested deeper than 4 levels");
  EXPECT_EQ(JsonErrors(R"({"a": [[[[]]]]})"), "nested deeper than 4 levels");
  std::string deep = std::string(30000, '[') + std::string(30000, ']');
  EXPECT_EQ(JsonErrors(deep), "nested deeper than 4 levels");
  EXPECT_EQ(JsonErrors("{\"a\":" + std::string(30000, '[') + std::string(30000, ']') + "}"),
            "nested deeper than 4 levels");

  // Size: 64 KiB is read, one byte more is not; 1 MiB is refused unread.
  const std::string small = R"({"name": "a", "kind": "webhook", "url": "http://h/")";
  const std::string pad(64 * 1024 - small.size() - 1, ' ');
  EXPECT_EQ(JsonErrors(small + pad + "}"), "OK");
  EXPECT_EQ(JsonErrors(small + pad + " }"), "larger than 64KiB; not a channel?");
  EXPECT_EQ(JsonErrors(small + std::string(1 << 20, ' ') + "}"),
            "larger than 64KiB; not a channel?");

  // Numbers beyond the readers' ranges.
  EXPECT_EQ(JsonErrors(base + R"("max_attempts": 18446744073709551615})"),
            "max_attempts: integer out of range");
  EXPECT_EQ(JsonErrors(base + R"("max_attempts": 9223372036854775807})"),
            "max_attempts: must be in 1..1000000, got 9223372036854775807");
  EXPECT_EQ(JsonErrors(base + R"("max_attempts": -9223372036854775808})"),
            "max_attempts: must be in 1..1000000, got -9223372036854775808");
  EXPECT_EQ(JsonErrors(base + R"("max_attempts": 123456789012345678901234567890})"),
            "max_attempts: expected an integer, got a float");
  EXPECT_EQ(JsonErrors(base + R"("rate": 1e400})"),
            "invalid JSON: number overflow parsing '1e400'");
  EXPECT_EQ(JsonErrors(base + R"("rate": 1e300})"), "rate: must be in 0.0..1e+09, got 1e+300");
  EXPECT_EQ(JsonErrors(base + R"("rate": -1e-400})"), "OK");  // -0.0
  EXPECT_EQ(JsonErrors(base + R"("lease": "99999999999h"})"),
            "lease: expected a duration like \"30s\" or \"1h30m\", got \"99999999999h\" (too "
            "large)");
}

TEST(ChannelConfigJson, RoundTripOfEveryKind) {
  ChannelConfig hook;
  hook.name = "hook";
  hook.kind = ChannelKind::kWebhook;
  hook.url = "https://h.example.test:8443/p?q=1";
  hook.headers = {{"Authorization", "Bearer \"quoted\""}, {"X-Unicode", "\xc3\xa9t\xc3\xa9"}};
  hook.connect_timeout = milliseconds(1500);
  hook.request_timeout = minutes(1) + seconds(30);
  hook.ca_file = "/etc/ca.pem";
  hook.insecure_skip_verify = true;
  hook.body_template = R"({"text": {{ .Field.annotations.summary }}})";
  hook.max_concurrency = 17;
  hook.rate = 0.125;
  hook.burst = 3.3;
  hook.max_attempts = 99;
  hook.max_age = hours(48);
  hook.backoff_base = milliseconds(250);
  hook.backoff_cap = minutes(2);
  hook.lease = seconds(90);
  hook.breaker_failures = 0;
  hook.breaker_open_for = std::chrono::nanoseconds(1'000'000'001);
  hook.fallback = "am";
  hook.fallback_after_failures = 7;

  ChannelConfig am;
  am.name = "am";
  am.kind = ChannelKind::kAlertmanager;
  am.url = "http://127.0.0.1:9093/alertmanager";
  am.headers = {{"X-Scope-OrgID", "plant"}};
  am.resend_interval = seconds(20);
  am.resolve_timeout = minutes(3);
  am.resolved_resend_for = seconds(0);
  am.max_concurrency = 1;

  ChannelConfig kafka;
  kafka.name = "cq-out";
  kafka.kind = ChannelKind::kKafka;
  kafka.brokers = "127.0.0.1:9092,127.0.0.1:9093";
  kafka.topic = "downsampled";
  kafka.send_timeout = seconds(3);
  kafka.properties = {{"compression.type", "lz4"}, {"sasl.password", "pw"}};
  kafka.continuous_queries = {"plant.cq_10s", "*"};
  kafka.rate = 1000;
  kafka.fallback = "hook";

  for (const ChannelConfig& c : {hook, am, kafka}) {
    const std::string json = ChannelConfigToJson(c);
    EXPECT_EQ(FromJson(json), c) << json;
    EXPECT_NE(FromJson(json), ChannelConfig{}) << json;
  }
  // Canonical: every key of the kind, in a fixed order.
  const nlohmann::json j = nlohmann::json::parse(ChannelConfigToJson(kafka));
  EXPECT_EQ(j.size(), 19u);
  EXPECT_EQ(j["send_timeout"], "3s");
  EXPECT_EQ(j["continuous_queries"], nlohmann::json::array({"plant.cq_10s", "*"}));
  EXPECT_FALSE(j.contains("url"));
  EXPECT_EQ(nlohmann::json::parse(ChannelConfigToJson(hook)).size(), 21u);
  EXPECT_EQ(nlohmann::json::parse(ChannelConfigToJson(am)).size(), 23u);
  EXPECT_EQ(nlohmann::json::parse(ChannelConfigToJson(hook))["request_timeout"], "1m30s");
  EXPECT_EQ(nlohmann::json::parse(ChannelConfigToJson(hook))["breaker_open_for"], "1s1ns");
  EXPECT_EQ(ChannelConfigToJson(am).rfind(R"({"name":"am","kind":"alertmanager",)", 0), 0u);
}

TEST(ChannelConfigJson, Redaction) {
  ChannelConfig hook;
  hook.name = "hook";
  hook.url = "http://h/";
  hook.headers = {{"authorization", "Bearer s1"},
                  {"X-Api-Key", "s2"},
                  {"X-Auth-Token", "s3"},
                  {"Client-SECRET", "s4"},
                  {"Proxy-Authorization", "Basic s5"},
                  {"Cookie", "sid=s6"},
                  {"X-Password", "s7"},
                  {"X-Hub-Signature", "s8"},
                  {"X-Tenant", "plant"}};
  const nlohmann::json stored = nlohmann::json::parse(ChannelConfigToJson(hook));
  EXPECT_EQ(stored["headers"]["authorization"], "Bearer s1");
  EXPECT_EQ(stored["headers"]["X-Api-Key"], "s2");
  const nlohmann::json shown = nlohmann::json::parse(RedactChannelJson(hook));
  EXPECT_EQ(shown["headers"]["authorization"], "<redacted>");
  EXPECT_EQ(shown["headers"]["X-Api-Key"], "<redacted>");
  EXPECT_EQ(shown["headers"]["X-Auth-Token"], "<redacted>");
  EXPECT_EQ(shown["headers"]["Client-SECRET"], "<redacted>");
  for (const char* name : {"Proxy-Authorization", "Cookie", "X-Password", "X-Hub-Signature"}) {
    EXPECT_EQ(shown["headers"][name], "<redacted>") << name;
  }
  EXPECT_EQ(shown["headers"]["X-Tenant"], "plant");
  EXPECT_EQ(shown["url"], "http://h/");
  EXPECT_EQ(RedactChannelJson(hook).find("s1"), std::string::npos);

  ChannelConfig kafka;
  kafka.name = "k";
  kafka.kind = ChannelKind::kKafka;
  kafka.brokers = "b";
  kafka.topic = "t";
  kafka.properties = {{"sasl.password", "p1"},
                      {"sasl.oauthbearer.client.secret", "p2"},
                      {"ssl.key.password", "p3"},
                      {"sasl.username", "user"}};
  const nlohmann::json props = nlohmann::json::parse(RedactChannelJson(kafka))["properties"];
  EXPECT_EQ(props["sasl.password"], "<redacted>");
  EXPECT_EQ(props["sasl.oauthbearer.client.secret"], "<redacted>");
  EXPECT_EQ(props["ssl.key.password"], "<redacted>");
  EXPECT_EQ(props["sasl.username"], "user");
  EXPECT_EQ(nlohmann::json::parse(ChannelConfigToJson(kafka))["properties"]["sasl.password"], "p1");
  kafka.properties = {{"ssl.key.pem", "-----BEGIN PRIVATE KEY-----"}, {"sasl.jaas.config", "x"}};
  const nlohmann::json keys = nlohmann::json::parse(RedactChannelJson(kafka))["properties"];
  EXPECT_EQ(keys["ssl.key.pem"], "<redacted>");
  EXPECT_EQ(keys["sasl.jaas.config"], "<redacted>");
}

TEST(ChannelConfigJson, RedactionHidesTheUrlsPathAndQuery) {
  ChannelConfig hook;
  hook.name = "hook";
  hook.url = "https://hooks.example/services/T0/B0/secret-token?x=1";
  EXPECT_EQ(nlohmann::json::parse(RedactChannelJson(hook))["url"],
            "https://hooks.example/<redacted>");
  hook.url = "http://127.0.0.1:9093";
  EXPECT_EQ(nlohmann::json::parse(RedactChannelJson(hook))["url"], "http://127.0.0.1:9093");
}

TEST(ChannelConfigJson, RedactedJsonSentBackIsRefused) {
  ChannelConfig hook;
  hook.name = "hook";
  hook.url = "https://hooks.example/services/T0/B0/secret-token";
  hook.headers = {{"Authorization", "Bearer s1"}};
  StatusOr<ChannelConfig> back = ParseChannelJson(RedactChannelJson(hook));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message(),
            "url: holds \"<redacted>\": send the real value\n"
            "headers: \"Authorization\" holds \"<redacted>\": send the real value");
  ASSERT_TRUE(ParseChannelJson(ChannelConfigToJson(hook)).ok());
}

TEST(ChannelConfigJson, InvalidUtf8IsReplacedNotThrown) {
  ChannelConfig hook;
  hook.name = "hook";
  hook.url = "http://h/";
  hook.body_template = "\xff";
  const std::string json = ChannelConfigToJson(hook);
  EXPECT_TRUE(nlohmann::json::accept(json));
}

// ---- mapping ----

TEST(ChannelConfigMapping, Policy) {
  ChannelConfig c;
  c.max_concurrency = 9;
  c.rate = 1.5;
  c.burst = 4;
  c.max_attempts = 12;
  c.max_age = hours(2);
  c.backoff_base = milliseconds(200);
  c.backoff_cap = seconds(20);
  c.lease = seconds(45);
  c.breaker_failures = 0;
  c.breaker_open_for = seconds(7);
  c.fallback = "other";
  c.fallback_after_failures = 5;
  const sinks::ChannelPolicy p = ToChannelPolicy(c);
  EXPECT_EQ(p.max_concurrency, 9);
  EXPECT_EQ(p.rate_per_s, 1.5);
  EXPECT_EQ(p.burst, 4);
  EXPECT_EQ(p.retry.max_attempts, 12);
  EXPECT_EQ(p.retry.max_age, hours(2));
  EXPECT_EQ(p.retry.base, milliseconds(200));
  EXPECT_EQ(p.retry.cap, seconds(20));
  EXPECT_EQ(p.lease, seconds(45));
  EXPECT_EQ(p.breaker.failure_threshold, 0);
  EXPECT_EQ(p.breaker.open_for, seconds(7));
  EXPECT_EQ(p.fallback, "other");
  EXPECT_EQ(p.fallback_after_failures, 5);

  // The defaults agree with the worker's own.
  const sinks::ChannelPolicy d = ToChannelPolicy(ChannelConfig{});
  const sinks::ChannelPolicy w;
  EXPECT_EQ(d.max_concurrency, w.max_concurrency);
  EXPECT_EQ(d.rate_per_s, w.rate_per_s);
  EXPECT_EQ(d.burst, w.burst);
  EXPECT_EQ(d.retry.base, w.retry.base);
  EXPECT_EQ(d.retry.cap, w.retry.cap);
  EXPECT_EQ(d.retry.max_attempts, w.retry.max_attempts);
  EXPECT_EQ(d.retry.max_age, w.retry.max_age);
  EXPECT_EQ(d.lease, w.lease);
  EXPECT_EQ(d.breaker.failure_threshold, w.breaker.failure_threshold);
  EXPECT_EQ(d.breaker.open_for, w.breaker.open_for);
  EXPECT_EQ(d.fallback_after_failures, w.fallback_after_failures);
}

TEST(ChannelConfigMapping, Webhook) {
  ChannelConfig c;
  c.url = "http://127.0.0.1:9/hook";
  c.headers = {{"B", "2"}, {"A", "1"}};
  c.body_template = "{{ .Payload }}";
  c.connect_timeout = milliseconds(1500);
  c.request_timeout = std::chrono::microseconds(2500);  // rounded up to whole ms
  c.ca_file = "/ca.pem";
  c.insecure_skip_verify = true;
  const sinks::WebhookOptions o = ToWebhookOptions(c);
  EXPECT_EQ(o.url, c.url);
  EXPECT_EQ(o.headers, (sinks::HttpHeaders{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(o.body_template, c.body_template);
  EXPECT_EQ(o.http.connect_timeout, milliseconds(1500));
  EXPECT_EQ(o.http.request_timeout, milliseconds(3));
  EXPECT_EQ(o.http.ca_file, "/ca.pem");
  EXPECT_TRUE(o.http.insecure_skip_verify);
  EXPECT_EQ(ToWebhookOptions(ChannelConfig{}).http.request_timeout,
            sinks::HttpClientOptions{}.request_timeout);
  EXPECT_EQ(ToWebhookOptions(ChannelConfig{}).http.connect_timeout,
            sinks::HttpClientOptions{}.connect_timeout);
}

TEST(ChannelConfigMapping, Alertmanager) {
  ChannelConfig c;
  c.kind = ChannelKind::kAlertmanager;
  c.url = "http://127.0.0.1:9093";
  c.headers = {{"X-Scope-OrgID", "p"}};
  c.resend_interval = seconds(20);
  c.resolve_timeout = seconds(0);
  c.resolved_resend_for = minutes(3);
  c.request_timeout = seconds(4);
  const sinks::AlertmanagerOptions o = ToAlertmanagerOptions(c);
  EXPECT_EQ(o.url, c.url);
  EXPECT_EQ(o.headers, (sinks::HttpHeaders{{"X-Scope-OrgID", "p"}}));
  EXPECT_EQ(o.resend_interval, seconds(20));
  EXPECT_EQ(o.resolve_timeout, milliseconds(0));
  EXPECT_EQ(o.resolved_resend_for, minutes(3));
  EXPECT_EQ(o.http.request_timeout, seconds(4));
  const sinks::AlertmanagerOptions d = ToAlertmanagerOptions(ChannelConfig{});
  EXPECT_EQ(d.resend_interval, sinks::AlertmanagerOptions{}.resend_interval);
  EXPECT_EQ(d.resolve_timeout, sinks::AlertmanagerOptions{}.resolve_timeout);
  EXPECT_EQ(d.resolved_resend_for, sinks::AlertmanagerOptions{}.resolved_resend_for);
}

TEST(ChannelConfigMapping, Kafka) {
  ChannelConfig c;
  c.kind = ChannelKind::kKafka;
  c.brokers = "127.0.0.1:9092";
  c.topic = "t";
  c.send_timeout = seconds(4);
  c.properties = {{"linger.ms", "1"}};
  const sinks::KafkaEmitterOptions o = ToKafkaEmitterOptions(c);
  EXPECT_EQ(o.brokers, c.brokers);
  EXPECT_EQ(o.topic, "t");
  EXPECT_EQ(o.send_timeout, seconds(4));
  EXPECT_EQ(o.properties, c.properties);
  EXPECT_EQ(ToKafkaEmitterOptions(ChannelConfig{}).send_timeout,
            sinks::KafkaEmitterOptions{}.send_timeout);
}

// Every channel the reader accepts builds its emitter (url, headers, template, acks).
TEST(ChannelConfigMapping, AcceptedChannelsBuild) {
  const std::vector<ChannelConfig> channels = Channels(R"(
[[channels]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:9/x"
headers = { Authorization = "Bearer x" }
body_template = '{"a": {{ .Field.status }}, "b": {{ .Payload }}}'
insecure_skip_verify = true
[[channels]]
name = "am"
kind = "alertmanager"
url = "http://[::1]:9093/am"
insecure_skip_verify = true
[[channels]]
name = "k"
kind = "kafka"
brokers = "127.0.0.1:1"
topic = "t"
properties = { acks = "all", "compression.type" = "lz4" }
)");
  ASSERT_EQ(channels.size(), 3u);
  auto hook = sinks::WebhookEmitter::Create(ToWebhookOptions(channels[0]));
  EXPECT_TRUE(hook.ok()) << hook.status().message();
  auto am = sinks::AlertmanagerEmitter::Create(ToAlertmanagerOptions(channels[1]));
  EXPECT_TRUE(am.ok()) << am.status().message();
  auto kafka = sinks::KafkaEmitter::Create(ToKafkaEmitterOptions(channels[2]));
  EXPECT_TRUE(kafka.ok()) << kafka.status().message();
}

TEST(ChannelConfigMapping, CarriesContinuousQuery) {
  ChannelConfig c;
  c.kind = ChannelKind::kKafka;
  c.continuous_queries = {"plant.cq_10s", "my.db.cq"};
  EXPECT_TRUE(CarriesContinuousQuery(c, "plant", "cq_10s"));
  EXPECT_FALSE(CarriesContinuousQuery(c, "plant", "cq_1m"));
  EXPECT_FALSE(CarriesContinuousQuery(c, "plant.cq", "10s"));
  EXPECT_FALSE(CarriesContinuousQuery(c, "other", "cq_10s"));
  EXPECT_TRUE(CarriesContinuousQuery(c, "my.db", "cq"));
  EXPECT_TRUE(CarriesContinuousQuery(c, "my", "db.cq"));  // the text is ambiguous, as written
  EXPECT_FALSE(CarriesContinuousQuery(c, "", ""));
  c.continuous_queries = {"*"};
  EXPECT_TRUE(CarriesContinuousQuery(c, "any", "thing"));
  c.continuous_queries.clear();
  EXPECT_FALSE(CarriesContinuousQuery(c, "plant", "cq_10s"));
  c.continuous_queries = {"*"};
  c.kind = ChannelKind::kWebhook;  // only kafka channels carry CQ output
  EXPECT_FALSE(CarriesContinuousQuery(c, "plant", "cq_10s"));
}

}  // namespace
}  // namespace tidewatch::daemon
