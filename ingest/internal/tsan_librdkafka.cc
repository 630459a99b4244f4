// ThreadSanitizer builds only: what TSan needs to run librdkafka, which is not
// instrumented, in the same process as our instrumented code.
//
// 1. The C11 thread functions on top of the pthread ones. Debian's librdkafka runs its
//    threads and locks with C11 <threads.h> (thrd_create, mtx_lock, cnd_wait, ...).
//    glibc implements those by calling its internal pthread functions directly, and GCC
//    12's TSan runtime has no interceptors for them, so TSan never registers
//    librdkafka's threads (they crash in their first malloc) and cannot see its locks.
//    Defined here, in each executable that links the ingest library (ingest/
//    CMakeLists.txt adds this file to them in TSan builds only), they take precedence
//    over glibc's and call the public pthread functions, which TSan intercepts. glibc's
//    C11 types wrap the pthread ones with the same layout; glibc casts the same way.
// 2. Default suppressions: librdkafka also synchronises through plain atomics (its
//    reference counts), which TSan cannot see in uninstrumented code, so a buffer freed
//    by a broker thread after the last reference drops looks like a race with the
//    thread that read it, and a mutex it creates on one thread and publishes the same
//    way looks unsynchronised with its first lock elsewhere. `called_from_lib` ignores
//    the intercepted calls (free, memcpy, ...) librdkafka makes, `^mtx_`/`^cnd_` the
//    races on its mutexes and condition variables (only librdkafka calls the C11
//    functions); our own accesses stay checked.
#if defined(__SANITIZE_THREAD__)

#include <errno.h>
#include <pthread.h>
#include <threads.h>

#include <cstdint>
#include <new>

namespace {

int ToThrd(int err) {
  switch (err) {
    case 0:
      return thrd_success;
    case EBUSY:
      return thrd_busy;
    case ETIMEDOUT:
      return thrd_timedout;
    case ENOMEM:
      return thrd_nomem;
    default:
      return thrd_error;
  }
}

pthread_mutex_t* Native(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* Native(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

struct Start {
  thrd_start_t func;
  void* arg;
};

void* Trampoline(void* p) {
  const Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(start.func(start.arg)));
}

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = new (std::nothrow) Start{func, arg};
  if (start == nullptr) return thrd_nomem;
  pthread_t thread;
  const int err = pthread_create(&thread, nullptr, &Trampoline, start);
  if (err != 0) {
    delete start;
    return ToThrd(err);
  }
  *thr = thread;
  return thrd_success;
}

int thrd_join(thrd_t thr, int* res) {
  void* result = nullptr;
  const int err = pthread_join(thr, &result);
  if (err == 0 && res != nullptr) {
    *res = static_cast<int>(reinterpret_cast<std::intptr_t>(result));
  }
  return ToThrd(err);
}

int thrd_detach(thrd_t thr) { return ToThrd(pthread_detach(thr)); }

thrd_t thrd_current(void) { return pthread_self(); }

int mtx_init(mtx_t* mutex, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if ((type & mtx_recursive) != 0) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int err = pthread_mutex_init(Native(mutex), &attr);
  pthread_mutexattr_destroy(&attr);
  return ToThrd(err);
}

int mtx_lock(mtx_t* mutex) { return ToThrd(pthread_mutex_lock(Native(mutex))); }

int mtx_timedlock(mtx_t* mutex, const struct timespec* time_point) {
  return ToThrd(pthread_mutex_timedlock(Native(mutex), time_point));
}

int mtx_trylock(mtx_t* mutex) { return ToThrd(pthread_mutex_trylock(Native(mutex))); }

int mtx_unlock(mtx_t* mutex) { return ToThrd(pthread_mutex_unlock(Native(mutex))); }

void mtx_destroy(mtx_t* mutex) { pthread_mutex_destroy(Native(mutex)); }

void call_once(once_flag* flag, void (*func)(void)) {
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), func);
}

int cnd_init(cnd_t* cond) { return ToThrd(pthread_cond_init(Native(cond), nullptr)); }

int cnd_signal(cnd_t* cond) { return ToThrd(pthread_cond_signal(Native(cond))); }

int cnd_broadcast(cnd_t* cond) { return ToThrd(pthread_cond_broadcast(Native(cond))); }

int cnd_wait(cnd_t* cond, mtx_t* mutex) {
  return ToThrd(pthread_cond_wait(Native(cond), Native(mutex)));
}

int cnd_timedwait(cnd_t* cond, mtx_t* mutex, const struct timespec* time_point) {
  return ToThrd(pthread_cond_timedwait(Native(cond), Native(mutex), time_point));
}

void cnd_destroy(cnd_t* cond) { pthread_cond_destroy(Native(cond)); }

const char* __tsan_default_suppressions() {
  return "called_from_lib:librdkafka.so.1\n"
         "race:^mtx_\n"
         "race:^cnd_\n";
}

}  // extern "C"

#endif  // defined(__SANITIZE_THREAD__)
