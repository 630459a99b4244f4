// WebhookEmitter against the test receiver: request shape, body templates, and the
// outcome of every kind of answer (sinks/http_outcome.h).
#include "sinks/webhook_emitter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "sinks/http_outcome.h"
#include "tests/sinks/test_receiver.h"

namespace tidewatch::sinks {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using testing::ScriptedResponse;
using testing::TestReceiver;

constexpr char kPayload[] =
    R"({"version":1,"idempotency_key":"tw-3-8c1b6f0e2a9d4c71-2","status":"firing",)"
    R"("rule":"high-pressure","labels":{"alertname":"high-pressure","site":"site1"},)"
    R"("annotations":{"summary":"pt-001 at 9.7 bar"},"value":9.7,"ends_at":null})";

Notification MakeNotification(std::string payload = kPayload) {
  Notification notification;
  notification.id = 7;
  notification.channel = "ops";
  notification.idempotency_key = "tw-3-8c1b6f0e2a9d4c71-2";
  notification.payload = std::move(payload);
  return notification;
}

std::unique_ptr<WebhookEmitter> MakeEmitter(WebhookOptions options) {
  StatusOr<std::unique_ptr<WebhookEmitter>> emitter = WebhookEmitter::Create(std::move(options));
  EXPECT_TRUE(emitter.ok()) << emitter.status().ToString();
  return std::move(*emitter);
}

std::string Outcome(const DeliveryResult& result) {
  const char* names[] = {"delivered", "retry", "permanent"};
  std::string text = names[static_cast<int>(result.outcome)];
  text += " " + std::to_string(result.http_status);
  if (result.retry_after) text += " after " + std::to_string(result.retry_after->count()) + "ms";
  return text;
}

TEST(WebhookEmitterTest, PostsPayloadWithIdempotencyKeyAndHeaders) {
  TestReceiver receiver;
  auto emitter = MakeEmitter({receiver.Url("/hooks/tidewatch"),
                              {{"Authorization", "Bearer s3cret"}, {"X-Env", "lab"}},
                              "",
                              {}});
  const DeliveryResult result = emitter->Send(MakeNotification());
  EXPECT_EQ(Outcome(result), "delivered 200");
  EXPECT_TRUE(result.error.empty());
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/hooks/tidewatch");
  EXPECT_EQ(requests[0].body, kPayload);
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].Header("Idempotency-Key"), "tw-3-8c1b6f0e2a9d4c71-2");
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer s3cret");
  EXPECT_EQ(requests[0].Header("X-Env"), "lab");
}

TEST(WebhookEmitterTest, ConfiguredContentTypeReplacesTheDefault) {
  TestReceiver receiver;
  auto emitter =
      MakeEmitter({receiver.Url(), {{"Content-Type", "application/vnd.tidewatch+json"}}, "", {}});
  EXPECT_EQ(Outcome(emitter->Send(MakeNotification())), "delivered 200");
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/vnd.tidewatch+json");
  int content_types = 0;
  for (const auto& header : requests[0].headers) content_types += header.first == "Content-Type";
  EXPECT_EQ(content_types, 1);
}

TEST(WebhookEmitterTest, TemplateSubstitutesPayloadAndFields) {
  TestReceiver receiver;
  auto emitter =
      MakeEmitter({receiver.Url(),
                   {},
                   R"({"text": {{ .Field.annotations.summary }}, "v": {{.Field.value}}, )"
                   R"("site": {{ .Field.labels.site }}, "missing": {{ .Field.nope.deeper }}, )"
                   R"("ends": {{ .Field.ends_at }}, "all": {{ .Payload }}})",
                   {}});
  EXPECT_EQ(Outcome(emitter->Send(MakeNotification())), "delivered 200");
  ASSERT_EQ(receiver.requests().size(), 1u);
  const nlohmann::json body = nlohmann::json::parse(receiver.requests()[0].body);
  EXPECT_EQ(body.dump(), nlohmann::json::parse(
                             std::string(R"({"text":"pt-001 at 9.7 bar","v":9.7,)") +
                             R"("site":"site1","missing":null,"ends":null,"all":)" + kPayload + "}")
                             .dump());
}

TEST(WebhookEmitterTest, TemplateFieldEncodesHostileStringsAsJson) {
  auto emitter = MakeEmitter({"http://127.0.0.1:1/", {}, R"({"s": {{ .Field.rule }}})", {}});
  StatusOr<std::string> body = emitter->RenderBody(R"({"rule":"a\"}, \"x\": {\"y\u0000"})");
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  const nlohmann::json parsed = nlohmann::json::parse(*body);
  EXPECT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed["s"].get<std::string>(), std::string("a\"}, \"x\": {\"y\0", 14));
}

TEST(WebhookEmitterTest, RejectsBadTemplatesAndOptions) {
  const char* bad_templates[] = {
      R"({"a": {{ .Payload }})",      // renders invalid JSON
      R"({"a": "{{ .Payload }}"})",   // inside a string literal
      R"({"a": {{ .Unknown }}})",     // unknown placeholder
      R"({"a": {{ .Field. }}})",      // empty member
      R"({"a": {{ .Field.a..b }}})",  // empty member in the path
      R"({"a": {{ .Payload })",       // unterminated
      "not json",
  };
  for (const char* text : bad_templates) {
    StatusOr<std::unique_ptr<WebhookEmitter>> emitter =
        WebhookEmitter::Create({"http://127.0.0.1:1/", {}, text, {}});
    ASSERT_FALSE(emitter.ok()) << text;
    EXPECT_EQ(emitter.status().code(), StatusCode::kInvalidArgument) << text;
  }
  const WebhookOptions bad_options[] = {
      {"ftp://host/", {}, "", {}},
      {"http://host/", {{"Idempotency-Key", "x"}}, "", {}},
      {"http://host/", {{"X-A", "a\nb"}}, "", {}},
  };
  for (const WebhookOptions& options : bad_options) {
    EXPECT_FALSE(WebhookEmitter::Create(options).ok()) << options.url;
  }
}

TEST(WebhookEmitterTest, PayloadThatTheTemplateCannotReadIsPermanent) {
  TestReceiver receiver;
  auto emitter = MakeEmitter({receiver.Url(), {}, R"({"s": {{ .Field.status }}})", {}});
  const DeliveryResult result = emitter->Send(MakeNotification("[1,2"));
  EXPECT_EQ(Outcome(result), "permanent 0");
  EXPECT_THAT(result.error, HasSubstr("not a JSON object"));
  EXPECT_TRUE(receiver.requests().empty());
}

TEST(WebhookEmitterTest, ClassifiesEveryAnswer) {
  TestReceiver receiver;
  receiver.Respond({200, {}, "", milliseconds(0), false});
  receiver.Respond({204, {}, "", milliseconds(0), false});
  receiver.Respond({400, {}, "bad alert", milliseconds(0), false});
  receiver.Respond({404, {}, "", milliseconds(0), false});
  receiver.Respond({408, {}, "", milliseconds(0), false});
  receiver.Respond({429, {{"Retry-After", "7"}}, "slow down", milliseconds(0), false});
  receiver.Respond({500, {}, "boom", milliseconds(0), false});
  receiver.Respond({503, {{"Retry-After", "garbage"}}, "", milliseconds(0), false});
  receiver.Respond({301, {{"Location", "/x"}}, "", milliseconds(0), false});
  receiver.Respond({200, {}, "", milliseconds(30'000), false});  // stalls
  WebhookOptions options{receiver.Url(), {}, "", {}};
  options.http.request_timeout = milliseconds(300);
  auto emitter = MakeEmitter(options);
  std::vector<std::string> outcomes;
  for (int i = 0; i < 10; ++i) outcomes.push_back(Outcome(emitter->Send(MakeNotification())));
  EXPECT_THAT(outcomes,
              ::testing::ElementsAre("delivered 200", "delivered 204", "permanent 400",
                                     "permanent 404", "retry 408", "retry 429 after 7000ms",
                                     "retry 500", "retry 503", "permanent 301", "retry 0"));
  EXPECT_EQ(receiver.requests().size(), 10u);
}

TEST(WebhookEmitterTest, ErrorsSayWhatHappened) {
  TestReceiver receiver;
  receiver.Respond({500, {}, std::string(1000, 'e'), milliseconds(0), false});
  receiver.Respond({502, {}, "bad\r\ngateway\x01", milliseconds(0), false});
  auto emitter = MakeEmitter({receiver.Url(), {}, "", {}});
  EXPECT_EQ(emitter->Send(MakeNotification()).error, "HTTP 500: " + std::string(256, 'e'));
  EXPECT_EQ(emitter->Send(MakeNotification()).error, "HTTP 502: bad  gateway ");
}

TEST(WebhookEmitterTest, ConnectionErrorsRetry) {
  auto emitter = MakeEmitter({"http://127.0.0.1:1/", {}, "", {}});
  const DeliveryResult result = emitter->Send(MakeNotification());
  EXPECT_EQ(Outcome(result), "retry 0");
  EXPECT_THAT(result.error, HasSubstr("connect to 127.0.0.1:1 failed"));
}

TEST(WebhookEmitterTest, HostileIdempotencyKeyIsPermanentNotInjected) {
  TestReceiver receiver;
  auto emitter = MakeEmitter({receiver.Url(), {}, "", {}});
  Notification notification = MakeNotification();
  notification.idempotency_key = "k\r\nX-Injected: 1";
  EXPECT_EQ(Outcome(emitter->Send(notification)), "permanent 0");
  EXPECT_TRUE(receiver.requests().empty());
}

TEST(RetryAfterTest, SecondsAndDates) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37
  EXPECT_EQ(ParseRetryAfter("120", now), milliseconds(120'000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:50:37 GMT", now), milliseconds(60'000));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:40:37 GMT", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", now), std::chrono::hours(24));
  EXPECT_EQ(ParseRetryAfter("999999", now), std::chrono::hours(24));
  for (const char* bad :
       {"", "-1", "1.5", "12abc", "soon", "Sun, 06 Nov 1994 08:50:37 PST", "Sun, 06 Nov 1994"}) {
    EXPECT_EQ(ParseRetryAfter(bad, now), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace tidewatch::sinks
