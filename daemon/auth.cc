#include "daemon/auth.h"

#include <algorithm>
#include <utility>

namespace tidewatch::daemon {

namespace {

// Splits "scheme rest" at the first space; the scheme is compared case-insensitively
// by the caller.
bool SchemeIs(std::string_view header, std::string_view scheme, std::string_view& rest) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    const char c = header[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    const char want = scheme[i];
    if (lower != want) return false;
  }
  rest = header.substr(scheme.size() + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  return true;
}

// "name:secret" split at the first colon.
bool SplitPair(std::string_view pair, std::string_view& name, std::string_view& secret) {
  const std::size_t colon = pair.find(':');
  if (colon == std::string_view::npos) return false;
  name = pair.substr(0, colon);
  secret = pair.substr(colon + 1);
  return true;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<Role> ParseRole(std::string_view text) {
  if (text == "read") return Role::kRead;
  if (text == "write") return Role::kWrite;
  if (text == "admin") return Role::kAdmin;
  return std::nullopt;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kRead:
      return "read";
    case Role::kWrite:
      return "write";
    case Role::kAdmin:
      return "admin";
  }
  return "none";
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Walk the longer length whatever the contents; differences accumulate in `diff`
  // without any branch on the bytes.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned ca = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
    const unsigned cb = i < b.size() ? static_cast<unsigned char>(b[i]) : 0u;
    diff |= ca ^ cb;
  }
  return diff == 0;
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFFu));
    }
  }
  return out;
}

Auth::Auth(AuthOptions options) : options_(std::move(options)) {}

const AuthToken* Auth::FindByName(std::string_view name, std::string_view secret) const {
  // Names are not secret; only the secret of the named token is compared.
  for (const AuthToken& t : options_.tokens) {
    if (t.name == name) return ConstantTimeEquals(t.token, secret) ? &t : nullptr;
  }
  return nullptr;
}

const AuthToken* Auth::FindBySecret(std::string_view secret) const {
  const AuthToken* found = nullptr;
  for (const AuthToken& t : options_.tokens) {
    // No early exit: every token is compared.
    const bool match = ConstantTimeEquals(t.token, secret);
    if (match && found == nullptr) found = &t;
  }
  return found;
}

AuthDecision Auth::Check(const Credentials& credentials, Role required) const {
  AuthDecision decision;
  if (!options_.enabled || required == Role::kNone) return decision;

  bool presented = true;
  const AuthToken* token = nullptr;
  std::string_view rest;
  std::string_view name;
  std::string_view secret;
  if (!credentials.u.empty() && !credentials.p.empty()) {
    token = FindByName(credentials.u, credentials.p);
  } else if (SchemeIs(credentials.authorization, "bearer", rest)) {
    token = FindBySecret(rest);
  } else if (SchemeIs(credentials.authorization, "token", rest)) {
    // InfluxDB 2.x sends the bare token, 1.x "name:password".
    token = FindBySecret(rest);
    if (token == nullptr && SplitPair(rest, name, secret)) token = FindByName(name, secret);
  } else if (SchemeIs(credentials.authorization, "basic", rest)) {
    const std::optional<std::string> pair = DecodeBase64(rest);
    if (pair && SplitPair(*pair, name, secret)) {
      token = FindByName(name, secret);
    } else {
      presented = false;
    }
  } else {
    presented = false;
  }

  if (!presented) {
    decision.status = 401;
    decision.error = "unable to parse authentication credentials";
    return decision;
  }
  if (token == nullptr) {
    decision.status = 401;
    decision.error = "authorization failed";
    return decision;
  }
  decision.principal = token->name;
  if (token->role < required) {
    decision.status = 403;
    decision.error = "\"" + token->name + "\" user is not authorized: requires role " +
                     std::string(RoleName(required));
  }
  return decision;
}

}  // namespace tidewatch::daemon
