/*
 * sd_notify.node: the one system call Node lacks for the systemd notify protocol, sending a
 * datagram on an AF_UNIX socket. notify(socketPath, message) -> bytes sent; throws on error.
 * A path starting with '@' names an abstract socket (leading NUL byte, no terminator).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <node_api.h>

#define MAX_MESSAGE 4096

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "notify(socketPath, message) takes two strings");
    return NULL;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  char path[sizeof addr.sun_path + 1];
  size_t path_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "socketPath must be a string");
    return NULL;
  }
  if (path_len == 0 || path_len >= sizeof addr.sun_path) {
    napi_throw_range_error(env, NULL, "socketPath is empty or too long for sun_path");
    return NULL;
  }
  memcpy(addr.sun_path, path, path_len);
  socklen_t addr_len;
  if (path[0] == '@') {
    addr.sun_path[0] = '\0';
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
  } else {
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1);
  }
  char msg[MAX_MESSAGE];
  size_t msg_len = 0;
  if (napi_get_value_string_utf8(env, argv[1], msg, sizeof msg, &msg_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "message must be a string");
    return NULL;
  }
  if (msg_len >= MAX_MESSAGE - 1) {
    napi_throw_range_error(env, NULL, "message too long");
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  ssize_t sent = sendto(fd, msg, msg_len, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
  int err = errno;
  close(fd);
  if (sent < 0) return throw_errno(env, "sendto", err);
  napi_value result;
  napi_create_int64(env, (int64_t)sent, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "notify", NAPI_AUTO_LENGTH, notify, NULL, &fn);
  napi_set_named_property(env, exports, "notify", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
