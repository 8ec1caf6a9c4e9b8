/* vigild as a whole: flags, configuration, start-up order, the main loop, signals.
 *
 * Start-up checks everything that can be checked before serving anything
 * (config, data dir, certificate, store and its migrations, the port); any failure
 * is one line on stderr naming the key, line or path, and exit status 1 (2 for a
 * bad flag). SIGTERM and SIGINT stop accepting, close connections, checkpoint the
 * store and exit 0. SIGHUP re-reads the config file and applies what can change
 * while running (log level, message size limit); the rest is logged as needing a
 * restart. */
#ifndef VG_APP_H
#define VG_APP_H

int vg_app_main(int argc, char **argv);

#endif
