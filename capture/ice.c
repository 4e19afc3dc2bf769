/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ice.c - the libnice side of a peer: see ice.h.
 */
#include "ice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <nice/agent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SC_ICE_RCVBUF (1 << 20) /* bytes asked for the media socket's receive buffer */

struct sc_ice {
	sc_ice_config cfg;
	NiceAgent *agent;
	guint stream;
	char *ufrag, *pwd;
	char *cands[SC_ICE_MAX_CANDS];
	const char *cand_ptrs[SC_ICE_MAX_CANDS];
	size_t n_cands;
	bool gathered, connected, failed;
};

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* "host:port" to a numeric address and a port (libnice wants numbers). */
static int resolve(const char *hostport, char *ip, size_t iplen, unsigned *ret_port)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof(host))
		return -EINVAL;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = 0;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return -EINVAL;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res = NULL;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return -EHOSTUNREACH;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)res->ai_addr;
	bool ok = inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)iplen) != NULL;
	freeaddrinfo(res);
	if (!ok)
		return -EINVAL;
	*ret_port = (unsigned)port;
	return 0;
}

static void collect_candidates(sc_ice *ice)
{
	GSList *list = nice_agent_get_local_candidates(ice->agent, ice->stream, 1);
	for (GSList *l = list; l; l = l->next) {
		NiceCandidate *c = l->data;
		if (ice->n_cands >= SC_ICE_MAX_CANDS ||
		    c->transport != NICE_CANDIDATE_TRANSPORT_UDP)
			continue;
		gchar *line = nice_agent_generate_local_candidate_sdp(ice->agent, c);
		if (!line)
			continue;
		const char *v = line;
		if (g_str_has_prefix(v, "a="))
			v += 2;
		if (g_str_has_prefix(v, "candidate:"))
			v += strlen("candidate:");
		char *copy = strdup(v);
		g_free(line);
		if (!copy)
			continue;
		ice->cands[ice->n_cands] = copy;
		ice->cand_ptrs[ice->n_cands] = copy;
		ice->n_cands++;
	}
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer ud)
{
	sc_ice *ice = ud;
	(void)agent;
	if (stream != ice->stream || ice->gathered)
		return;
	ice->gathered = true;
	collect_candidates(ice);
	if (ice->cfg.on_gathered)
		ice->cfg.on_gathered(ice->cfg.ud);
}

static void fail(sc_ice *ice, const char *why)
{
	if (ice->failed)
		return;
	ice->failed = true;
	if (ice->cfg.on_failed)
		ice->cfg.on_failed(ice->cfg.ud, why);
}

static void connected(sc_ice *ice)
{
	if (ice->connected || ice->failed)
		return;
	ice->connected = true;
	if (ice->cfg.on_connected)
		ice->cfg.on_connected(ice->cfg.ud);
}

static void on_state_changed(NiceAgent *agent, guint stream, guint comp, guint state, gpointer ud)
{
	sc_ice *ice = ud;
	(void)agent;
	if (stream != ice->stream || comp != 1)
		return;
	if (state == NICE_COMPONENT_STATE_FAILED)
		fail(ice, ice->connected ? "ICE: connection lost (consent expired)"
					 : "ICE: every candidate pair failed");
	else if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY)
		connected(ice);
}

/*
 * Every participant's media comes through the selected pair's one socket
 * (BUNDLE), and the capture's loop reads it once per pass (up to
 * SC_LOOP_BATCH_MS apart, loop.h): room for the key frames that all
 * participants send at once when the capture joins. The kernel caps the
 * size at net.core.rmem_max.
 */
static void grow_receive_buffer(NiceAgent *agent, guint stream, guint comp)
{
	GSocket *sock = nice_agent_get_selected_socket(agent, stream, comp);
	if (!sock)
		return; /* TCP or TURN: not a plain UDP socket */
	int size = SC_ICE_RCVBUF;
	(void)setsockopt(g_socket_get_fd(sock), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	g_object_unref(sock);
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint comp, NiceCandidate *lc,
			     NiceCandidate *rc, gpointer ud)
{
	sc_ice *ice = ud;
	(void)lc, (void)rc;
	if (stream == ice->stream && comp == 1) {
		grow_receive_buffer(agent, stream, comp);
		connected(ice);
	}
}

static void on_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf, gpointer ud)
{
	sc_ice *ice = ud;
	(void)agent;
	if (stream != ice->stream || comp != 1 || ice->failed)
		return;
	if (ice->cfg.on_recv)
		ice->cfg.on_recv(ice->cfg.ud, (const uint8_t *)buf, len);
}

static void set_if_exists(NiceAgent *agent, const char *prop, gboolean v)
{
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), prop))
		g_object_set(agent, prop, v, NULL);
}

sc_ice *sc_ice_new(const sc_ice_config *cfg, char *err, size_t errlen)
{
	sc_ice *ice = calloc(1, sizeof(*ice));
	if (!ice) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	ice->cfg = *cfg;
	ice->cfg.bind_address = ice->cfg.stun_server = ice->cfg.turn_server = NULL;
	ice->cfg.turn_user = ice->cfg.turn_password = NULL;
	ice->agent = nice_agent_new_full(cfg->ctx, NICE_COMPATIBILITY_RFC5245,
					 NICE_AGENT_OPTION_CONSENT_FRESHNESS);
	if (!ice->agent) {
		set_err(err, errlen, "ICE: nice_agent_new failed");
		goto fail;
	}
	set_if_exists(ice->agent, "ice-tcp", FALSE);
	set_if_exists(ice->agent, "ice-udp", TRUE);
	set_if_exists(ice->agent, "upnp", FALSE);
	g_object_set(ice->agent, "controlling-mode", (gboolean)cfg->controlling, NULL);

	if (cfg->bind_address) {
		NiceAddress addr;
		nice_address_init(&addr);
		if (!nice_address_set_from_string(&addr, cfg->bind_address)) {
			set_err(err, errlen, "ICE: bad bind address");
			goto fail;
		}
		if (!nice_agent_add_local_address(ice->agent, &addr)) {
			set_err(err, errlen, "ICE: cannot use the bind address");
			goto fail;
		}
	}
	if (cfg->stun_server) {
		char ip[64];
		unsigned port;
		if (resolve(cfg->stun_server, ip, sizeof(ip), &port) < 0) {
			set_err(err, errlen, "ICE: bad or unresolvable STUN server");
			goto fail;
		}
		g_object_set(ice->agent, "stun-server", ip, "stun-server-port", port, NULL);
	}
	ice->stream = nice_agent_add_stream(ice->agent, 1);
	if (ice->stream == 0) {
		set_err(err, errlen, "ICE: nice_agent_add_stream failed");
		goto fail;
	}
	if (cfg->turn_server) {
		char ip[64];
		unsigned port;
		if (resolve(cfg->turn_server, ip, sizeof(ip), &port) < 0) {
			set_err(err, errlen, "ICE: bad or unresolvable TURN server");
			goto fail;
		}
		if (!nice_agent_set_relay_info(ice->agent, ice->stream, 1, ip, port,
					       cfg->turn_user ? cfg->turn_user : "",
					       cfg->turn_password ? cfg->turn_password : "",
					       NICE_RELAY_TYPE_TURN_UDP)) {
			set_err(err, errlen, "ICE: TURN server rejected by libnice");
			goto fail;
		}
	}
	gchar *ufrag = NULL, *pwd = NULL;
	if (!nice_agent_get_local_credentials(ice->agent, ice->stream, &ufrag, &pwd)) {
		set_err(err, errlen, "ICE: no local credentials");
		goto fail;
	}
	ice->ufrag = strdup(ufrag);
	ice->pwd = strdup(pwd);
	g_free(ufrag);
	g_free(pwd);
	if (!ice->ufrag || !ice->pwd) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	g_signal_connect(ice->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done),
			 ice);
	g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(on_state_changed), ice);
	g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), ice);
	if (!nice_agent_attach_recv(ice->agent, ice->stream, 1, cfg->ctx, on_recv, ice)) {
		set_err(err, errlen, "ICE: nice_agent_attach_recv failed");
		goto fail;
	}
	return ice;
fail:
	sc_ice_free(ice);
	return NULL;
}

void sc_ice_free(sc_ice *ice)
{
	if (!ice)
		return;
	if (ice->agent) {
		g_signal_handlers_disconnect_by_data(ice->agent, ice);
		if (ice->stream) {
			nice_agent_attach_recv(ice->agent, ice->stream, 1, ice->cfg.ctx, NULL,
					       NULL);
			nice_agent_remove_stream(ice->agent, ice->stream);
		}
		g_object_unref(ice->agent);
	}
	for (size_t i = 0; i < ice->n_cands; i++)
		free(ice->cands[i]);
	free(ice->ufrag);
	free(ice->pwd);
	free(ice);
}

int sc_ice_gather(sc_ice *ice, char *err, size_t errlen)
{
	if (!nice_agent_gather_candidates(ice->agent, ice->stream)) {
		set_err(err, errlen, "ICE: candidate gathering failed (no usable address?)");
		return -EADDRNOTAVAIL;
	}
	return 0;
}

const char *sc_ice_ufrag(const sc_ice *ice)
{
	return ice->ufrag;
}

const char *sc_ice_pwd(const sc_ice *ice)
{
	return ice->pwd;
}

size_t sc_ice_candidates(const sc_ice *ice, const char *const **ret)
{
	*ret = ice->cand_ptrs;
	return ice->n_cands;
}

/* A NiceCandidate for UDP component 1 from a candidate value; NULL and
 * *skipped when it is another transport or component. */
static NiceCandidate *parse_candidate(sc_ice *ice, const char *cand, bool *skipped)
{
	*skipped = false;
	if (g_str_has_prefix(cand, "a="))
		cand += 2;
	if (g_str_has_prefix(cand, "candidate:"))
		cand += strlen("candidate:");
	while (*cand == ' ')
		cand++;
	if (!*cand) {
		*skipped = true; /* end of candidates */
		return NULL;
	}
	if (strlen(cand) > 1024)
		return NULL;
	char line[1100];
	snprintf(line, sizeof(line), "a=candidate:%s", cand);
	NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream, line);
	if (!c) {
		/* TCP and mDNS (.local) candidates are not errors for us. */
		*skipped =
			strstr(cand, " tcp ") || strstr(cand, " TCP ") || strstr(cand, ".local ");
		return NULL;
	}
	if (c->component_id != 1 || c->transport != NICE_CANDIDATE_TRANSPORT_UDP) {
		nice_candidate_free(c);
		*skipped = true;
		return NULL;
	}
	return c;
}

int sc_ice_set_remote(sc_ice *ice, const char *ufrag, const char *pwd, const char *const *cands,
		      size_t n, char *err, size_t errlen)
{
	if (!nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd)) {
		set_err(err, errlen, "ICE: remote credentials rejected");
		return -EINVAL;
	}
	GSList *list = NULL;
	for (size_t i = 0; i < n; i++) {
		bool skipped;
		NiceCandidate *c = parse_candidate(ice, cands[i], &skipped);
		if (c)
			list = g_slist_append(list, c);
	}
	if (list)
		nice_agent_set_remote_candidates(ice->agent, ice->stream, 1, list);
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	return 0;
}

int sc_ice_add_remote_candidate(sc_ice *ice, const char *cand)
{
	bool skipped;
	NiceCandidate *c = parse_candidate(ice, cand, &skipped);
	if (!c)
		return skipped ? 1 : -EINVAL;
	GSList one = {.data = c, .next = NULL};
	int r = nice_agent_set_remote_candidates(ice->agent, ice->stream, 1, &one);
	nice_candidate_free(c);
	return r < 0 ? -EINVAL : 0;
}

int sc_ice_send(sc_ice *ice, const uint8_t *buf, size_t len)
{
	if (ice->failed)
		return -ENOTCONN;
	if (len > G_MAXUINT)
		return -EMSGSIZE;
	gint r = nice_agent_send(ice->agent, ice->stream, 1, (guint)len, (const gchar *)buf);
	if (r == (gint)len)
		return 0;
	return ice->connected ? -EIO : -ENOTCONN;
}
