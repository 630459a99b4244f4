// A deterministic stream of Telegraf-like line protocol lines, shared by the decoder and
// Kafka ingest benchmarks so that both measure the same payloads.
//
// The stream cycles through kSources line sources, a quarter each of
//   cpu,cpu=cpu-total,host=h017 usage_user=2.4096385542168677,...     2 tags, 5 fields
//   mem,dc=eu-1,host=h017 used_percent=41.27,available=8123456512i,used=...i
//                                                                     2 tags, 3 fields
//   disk,device=sda1,fstype=ext4,host=h017 used_percent=63.1,inodes_free=1234567i
//                                                                     3 tags, 2 fields
//   pressure,sensor=pt-017,site=site2 value=4.213                      2 tags, 1 field
// each ending in a nanosecond timestamp: line i is source i % kSources at
// base_ts_ns + (i / kSources) * 10 s. Floats are written as Telegraf writes them (the
// shortest form that reads back exactly: cpu usages have 15-17 digits, gauges 3-5).
// Tags are in key order, as Telegraf sorts them. On average a line is ~115 bytes and
// carries 2.75 fields.
//
// Thread safety: the functions are pure; call them from any thread.
#ifndef TIDEWATCH_TESTS_BENCH_TELEGRAF_LINES_H_
#define TIDEWATCH_TESTS_BENCH_TELEGRAF_LINES_H_

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tidewatch::bench {

inline constexpr std::uint64_t kTelegrafSources = 1000;
inline constexpr std::int64_t kTelegrafIntervalNs = 10'000'000'000;

// A well-mixed 64-bit hash (splitmix64's finaliser): the "random" values of line i.
inline std::uint64_t TelegrafHash(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A value in [0, scale) derived from (i, k), rounded to `decimals` digits (-1: not).
inline double TelegrafValue(std::uint64_t i, std::uint64_t k, double scale, int decimals) {
  const double unit =
      static_cast<double>(TelegrafHash(i * 16 + k) >> 11) / static_cast<double>(1ULL << 53);
  double v = unit * scale;
  if (decimals >= 0) {
    double p = 1;
    for (int d = 0; d < decimals; ++d) p *= 10;
    v = static_cast<double>(static_cast<std::int64_t>(v * p)) / p;
  }
  return v;
}

inline void AppendDouble(double v, std::string& out) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void AppendInt(std::int64_t v, std::string& out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// "h017" for source s's host or sensor number.
inline void AppendNumber3(std::uint64_t n, std::string& out) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03u", static_cast<unsigned>(n % 1000));
  out.append(buf);
}

// The series part of line i (measurement and tags), which is also its Kafka key: a
// series stays on one partition.
inline void AppendTelegrafSeries(std::uint64_t i, std::string& out) {
  const std::uint64_t source = i % kTelegrafSources;
  const std::uint64_t n = source / 4;
  switch (source % 4) {
    case 0:
      out += "cpu,cpu=cpu-total,host=h";
      AppendNumber3(n, out);
      break;
    case 1:
      out += "mem,dc=eu-";
      AppendInt(static_cast<std::int64_t>(n % 3 + 1), out);
      out += ",host=h";
      AppendNumber3(n, out);
      break;
    case 2:
      out += "disk,device=sda1,fstype=ext4,host=h";
      AppendNumber3(n, out);
      break;
    default:
      out += "pressure,sensor=pt-";
      AppendNumber3(n, out);
      out += ",site=site";
      AppendInt(static_cast<std::int64_t>(n % 4 + 1), out);
      break;
  }
}

// Appends line i of the stream with its "\n"; returns its number of fields (points).
inline int AppendTelegrafLine(std::uint64_t i, std::int64_t base_ts_ns, std::string& out) {
  AppendTelegrafSeries(i, out);
  int fields = 0;
  switch (i % kTelegrafSources % 4) {
    case 0: {
      static constexpr const char* kNames[] = {
          " usage_user=", ",usage_system=", ",usage_idle=", ",usage_iowait=", ",usage_irq="};
      for (std::uint64_t k = 0; k < 5; ++k) {
        out += kNames[k];
        AppendDouble(TelegrafValue(i, k, k == 2 ? 100 : 10, -1), out);
      }
      fields = 5;
      break;
    }
    case 1:
      out += " used_percent=";
      AppendDouble(TelegrafValue(i, 0, 100, 2), out);
      out += ",available=";
      AppendInt(static_cast<std::int64_t>(TelegrafValue(i, 1, 16e9, 0)), out);
      out += "i,used=";
      AppendInt(static_cast<std::int64_t>(TelegrafValue(i, 2, 16e9, 0)), out);
      out += 'i';
      fields = 3;
      break;
    case 2:
      out += " used_percent=";
      AppendDouble(TelegrafValue(i, 0, 100, 1), out);
      out += ",inodes_free=";
      AppendInt(static_cast<std::int64_t>(TelegrafValue(i, 1, 1e7, 0)), out);
      out += 'i';
      fields = 2;
      break;
    default:
      out += " value=";
      AppendDouble(TelegrafValue(i, 0, 10, 3), out);
      fields = 1;
      break;
  }
  out += ' ';
  AppendInt(base_ts_ns + static_cast<std::int64_t>(i / kTelegrafSources) * kTelegrafIntervalNs,
            out);
  out += '\n';
  return fields;
}

}  // namespace tidewatch::bench

#endif  // TIDEWATCH_TESTS_BENCH_TELEGRAF_LINES_H_
