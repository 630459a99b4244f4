#include "daemon/auth.h"

#include <gtest/gtest.h>

#include <string>

namespace tidewatch::daemon {
namespace {

Auth MakeAuth(bool enabled = true) {
  AuthOptions options;
  options.enabled = enabled;
  options.tokens = {{"grafana", "g-secret", Role::kRead},
                    {"telegraf", "t-secret", Role::kWrite},
                    {"ops", "o:secret", Role::kAdmin}};
  return Auth(options);
}

// "status principal" for compact comparisons.
std::string Render(const AuthDecision& d) {
  return std::to_string(d.status) + " " + (d.allowed() ? d.principal : d.error);
}

TEST(AuthTest, AcceptsEveryCredentialForm) {
  const Auth auth = MakeAuth();
  EXPECT_EQ(Render(auth.Check({"Bearer t-secret", "", ""}, Role::kWrite)), "0 telegraf");
  EXPECT_EQ(Render(auth.Check({"bearer t-secret", "", ""}, Role::kWrite)), "0 telegraf");
  EXPECT_EQ(Render(auth.Check({"Token t-secret", "", ""}, Role::kWrite)), "0 telegraf");
  EXPECT_EQ(Render(auth.Check({"Token telegraf:t-secret", "", ""}, Role::kWrite)), "0 telegraf");
  // base64("telegraf:t-secret")
  EXPECT_EQ(Render(auth.Check({"Basic dGVsZWdyYWY6dC1zZWNyZXQ=", "", ""}, Role::kWrite)),
            "0 telegraf");
  EXPECT_EQ(Render(auth.Check({"", "telegraf", "t-secret"}, Role::kWrite)), "0 telegraf");
  // A secret with a colon, as a bare token and as Basic (split at the first colon).
  EXPECT_EQ(Render(auth.Check({"Bearer o:secret", "", ""}, Role::kAdmin)), "0 ops");
  // base64("ops:o:secret")
  EXPECT_EQ(Render(auth.Check({"Basic b3BzOm86c2VjcmV0", "", ""}, Role::kAdmin)), "0 ops");
}

TEST(AuthTest, QueryParametersWinOverTheHeader) {
  const Auth auth = MakeAuth();
  EXPECT_EQ(Render(auth.Check({"Bearer t-secret", "grafana", "g-secret"}, Role::kRead)),
            "0 grafana");
  EXPECT_EQ(Render(auth.Check({"Bearer t-secret", "grafana", "wrong"}, Role::kRead)),
            "401 authorization failed");
}

TEST(AuthTest, MissingOrUnparsableCredentialsAre401) {
  const Auth auth = MakeAuth();
  const std::string none = "401 unable to parse authentication credentials";
  EXPECT_EQ(Render(auth.Check({"", "", ""}, Role::kRead)), none);
  EXPECT_EQ(Render(auth.Check({"", "grafana", ""}, Role::kRead)), none);  // u without p
  EXPECT_EQ(Render(auth.Check({"Digest abc", "", ""}, Role::kRead)), none);
  EXPECT_EQ(Render(auth.Check({"Bearer", "", ""}, Role::kRead)), none);
  EXPECT_EQ(Render(auth.Check({"Basic !!!notbase64", "", ""}, Role::kRead)), none);
  EXPECT_EQ(Render(auth.Check({"Basic Z3JhZmFuYQ==", "", ""}, Role::kRead)), none);  // no colon
}

TEST(AuthTest, WrongSecretsAre401) {
  const Auth auth = MakeAuth();
  const std::string failed = "401 authorization failed";
  EXPECT_EQ(Render(auth.Check({"Bearer t-secreT", "", ""}, Role::kRead)), failed);
  EXPECT_EQ(Render(auth.Check({"Bearer t-secret2", "", ""}, Role::kRead)), failed);
  EXPECT_EQ(Render(auth.Check({"Bearer t-secre", "", ""}, Role::kRead)), failed);
  EXPECT_EQ(Render(auth.Check({"Bearer ", "", ""}, Role::kRead)), failed);
  EXPECT_EQ(Render(auth.Check({"", "telegraf", "g-secret"}, Role::kRead)), failed);  // other's
  EXPECT_EQ(Render(auth.Check({"", "nobody", "t-secret"}, Role::kRead)), failed);
  EXPECT_EQ(Render(auth.Check({"Token grafana:t-secret", "", ""}, Role::kRead)), failed);
}

TEST(AuthTest, RolesAreOrdered) {
  const Auth auth = MakeAuth();
  EXPECT_EQ(Render(auth.Check({"Bearer g-secret", "", ""}, Role::kRead)), "0 grafana");
  EXPECT_EQ(Render(auth.Check({"Bearer g-secret", "", ""}, Role::kWrite)),
            "403 \"grafana\" user is not authorized: requires role write");
  EXPECT_EQ(Render(auth.Check({"Bearer t-secret", "", ""}, Role::kRead)), "0 telegraf");
  EXPECT_EQ(Render(auth.Check({"Bearer t-secret", "", ""}, Role::kAdmin)),
            "403 \"telegraf\" user is not authorized: requires role admin");
  EXPECT_EQ(Render(auth.Check({"Bearer o:secret", "", ""}, Role::kWrite)), "0 ops");
}

TEST(AuthTest, DisabledOrOpenRoutesAllowEverything) {
  const Auth off = MakeAuth(false);
  EXPECT_TRUE(off.Check({"", "", ""}, Role::kAdmin).allowed());
  EXPECT_TRUE(off.Check({"Bearer wrong", "", ""}, Role::kAdmin).allowed());
  const Auth on = MakeAuth();
  EXPECT_TRUE(on.Check({"", "", ""}, Role::kNone).allowed());
}

TEST(AuthTest, ConstantTimeEqualsIsEquality) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  // A shorter string followed by NULs is still different.
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("ab\0", 3), "ab"));
  EXPECT_TRUE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals("\xff", "\x7f"));
}

TEST(AuthTest, Base64AndRoles) {
  EXPECT_EQ(DecodeBase64("dGVsZWdyYWY6dC1zZWNyZXQ="), "telegraf:t-secret");
  EXPECT_EQ(DecodeBase64("YQ"), "a");
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_FALSE(DecodeBase64("a"));
  EXPECT_FALSE(DecodeBase64("ab$c"));
  EXPECT_EQ(ParseRole("write"), Role::kWrite);
  EXPECT_FALSE(ParseRole("Write"));
  EXPECT_FALSE(ParseRole(""));
  EXPECT_EQ(RoleName(Role::kAdmin), "admin");
}

}  // namespace
}  // namespace tidewatch::daemon
