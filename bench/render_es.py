"""The Spanish docs/es/rendimiento.md, made from the English report bench/render.py writes.

The figures are the same run's; only the words change. Every fixed phrase of the English
report has its Spanish form below (in the glossary's terms, docs/es/glosario.md), numbers get
the Spanish separators (1 234, 0,47) outside code, and the prose of the last section comes
from bench/analysis.es.md, the translation of bench/analysis.md. A phrase added to
render.py without its Spanish form stays in English: `untranslated()` lists such lines, and
render.py prints them. The chart, docs/es/rendimiento.svg, is docs/performance.svg with
the same phrases applied to its text (`chart_to_spanish`).
"""
import re

HEADER = [
    "# Rendimiento: los servidores y clientes del kit contra pares reales",
    "",
    "*[In English](../performance.md) · [Índice de lecciones](README.md) · "
    "[muchos clientes: server_06 y server_07](05-many-clients.md)*",
    "",
    "*Generado por `bench/compare` (no lo edites a mano: vuelve a ejecutarlo), en inglés en "
    "[docs/performance.md](../performance.md) y en español aquí. El texto de la última sección "
    "sale de `bench/analysis.es.md`. Los nombres de los servidores y las etiquetas de la "
    "gráfica quedan en inglés, como en los programas.*",
    "",
]

# Longest first where one phrase contains another.
PHRASES = [
    # The run's header table.
    ("| date |", "| fecha |"),
    ("| machine |", "| computador |"),
    (" cores (", " núcleos ("),
    ("| where things ran |", "| dónde se ejecutó cada cosa |"),
    ("servers pinned to CPU 0, clients pinned to CPU 1 (taskset)",
     "servidores fijados a la CPU 0, clientes a la CPU 1 (taskset)"),
    ("| load average (1/5/15 min) before → after |", "| carga promedio (1/5/15 min) antes → después |"),
    ("(other work on the machine; the *after* figure also counts the benchmark's own server threads)",
     "(otro trabajo en el computador; la cifra de *después* cuenta también los hilos de los servidores de la medición)"),
    ("| commit |", "| commit |"),
    ("(with uncommitted changes)", "(con cambios sin commit)"),
    ("| seconds per cell |", "| segundos por celda |"),
    ("Reproduce with one command: `bench/compare` (30–35 minutes; it installs missing peers with "
     "apt-get and `cargo install`). Ratios are within this run only: absolute figures move with "
     "the machine and its load.",
     "Se reproduce con un comando: `bench/compare` (30-35 minutos; instala los pares que falten "
     "con apt-get y `cargo install`). Las razones valen solo dentro de esta ejecución: las cifras "
     "absolutas cambian con el computador y su carga."),
    # Targets.
    ("## Where the kit stands against its targets", "## Dónde está el kit frente a sus metas"),
    ("| target | measured | verdict |", "| meta | medido | veredicto |"),
    ("❌ missed by < 5 % (within this run's noise)", "❌ no se cumple por < 5 % (dentro del ruido de esta ejecución)"),
    ("❌ missed", "❌ no se cumple"),
    ("✅ met", "✅ se cumple"),
    ("not measured", "no medido"),
    (" msg/s at 1–100 connections", " msg/s con 1–100 conexiones"),
    (" msg/s at 100 and 1,000 connections", " msg/s con 100 y 1,000 conexiones"),
    (" msg/s at 1,000 connections", " msg/s con 1,000 conexiones"),
    (" msg/s (all cells)", " msg/s (todas las celdas)"),
    ("lowest ", "mínimo "),
    (" conn., ", " conex., "),
    ("(at ", "(con "),
    ("bulk ≥ 0.5 × iperf3", "en bloque ≥ 0.5 × iperf3"),
    ("round-trip p50 ≤ 1.3 × raw ping-pong", "ida y vuelta p50 ≤ 1.3 × ping-pong desnudo"),
    (": 1,000 idle clients, no error, RSS < 64 MiB", ": 1,000 clientes inactivos, sin errores, RSS < 64 MiB"),
    (": 1,000 busy clients (echo table), no error, RSS < 64 MiB", ": 1,000 clientes ocupados (tabla de eco), sin errores, RSS < 64 MiB"),
    (": 1,000 clients, no error, RSS < 64 MiB", ": 1,000 clientes, sin errores, RSS < 64 MiB"),
    (": 10,000 idle clients, no error, RSS ≤ 64 MiB", ": 10,000 clientes inactivos, sin errores, RSS ≤ 64 MiB"),
    (" served, ", " atendidos, "),
    (" errors, peak ", " errores, pico "),
    (" errors, ", " errores, "),
    (" MiB idle", " MiB inactivos"),
    ("requests/s", "peticiones/s"),
    (" with 1 client", " con 1 cliente"),
    (" clients,", " clientes,"),
    # Echo tables.
    ("## Echo servers at 1 to 10,000 connections", "## Servidores de eco con 1 a 10,000 conexiones"),
    ("`netbench echo`: every connection sends a message and waits for its echo (server_05: a line, "
     "answered by `OK...` + the line). Message sizes count what is sent; a ⚠ marks a run that had "
     "errors. All peers ran at once and each cell measured them one after another, in rounds, so "
     "load from elsewhere on the machine falls on every peer of a cell alike.",
     "`netbench echo`: cada conexión envía un mensaje y espera su eco (server_05: una línea, "
     "respondida con `OK...` + la línea). El tamaño del mensaje cuenta lo que se envía; un ⚠ marca "
     "una ejecución con errores. Todos los pares (el otro extremo de la conexión) estaban en ejecución a la vez y cada celda los "
     "midió uno tras otro, por rondas, así que la carga de otros programas del computador cae "
     "igual sobre todos los pares de una celda."),
    ("![messages per second and memory against clients](performance.svg)",
     "![mensajes por segundo y memoria según el número de clientes](rendimiento.svg)"),
    ("#### Messages per second, ", "#### Mensajes por segundo, mensajes de "),
    (" B messages", " B"),
    (" KiB messages", " KiB"),
    ("| connections |", "| conexiones |"),
    ("Each cell is the best of its rounds; the rounds of a cell differed by up to ",
     "Cada celda es la mejor de sus rondas; las rondas de una celda difirieron hasta "),
    (" connections), a measure of this run's noise.", " conexiones), una medida del ruido de esta ejecución."),
    ("#### Round trip under load, p50 / p99 in µs (same runs)",
     "#### Ida y vuelta con carga, p50 / p99 en µs (las mismas ejecuciones)"),
    ("| size | connections |", "| tamaño | conexiones |"),
    ("#### Peak resident memory in MiB while echoing (VmHWM, reset before each cell; the larger of "
     "the two sizes)",
     "#### Pico de memoria residente en MiB durante el eco (VmHWM, reiniciado antes de cada celda; "
     "el mayor de los dos tamaños)"),
    ("socat forks a process per client: its figure is the parent's alone.",
     "socat crea un proceso por cliente: su cifra es solo la del proceso padre."),
    # Cross-check.
    ("### Cross-check with an independent load generator",
     "### Contraprueba con un generador de carga independiente"),
    ("`tcp-echo-benchmark` (tokio's multi-threaded runtime, whose two worker threads here share the "
     "client core) against the same servers, 64-byte messages, one round. Compare the ratios to "
     "socat in the last two columns.",
     "`tcp-echo-benchmark` (el runtime de varios hilos de tokio, cuyos dos hilos de trabajo "
     "comparten aquí el núcleo del cliente) contra los mismos servidores, mensajes de 64 bytes, una "
     "ronda. Compara las razones frente a socat en las dos últimas columnas."),
    ("| server | connections | tcp-echo-benchmark msg/s | netbench msg/s | ÷ socat (tcp-echo-benchmark) | ÷ socat (netbench) |",
     "| servidor | conexiones | tcp-echo-benchmark msg/s | netbench msg/s | ÷ socat (tcp-echo-benchmark) | ÷ socat (netbench) |"),
    # Limits.
    ("### The machine's limits: bulk throughput and the bare round trip",
     "### Los límites del computador: transferencia en bloque y la ida y vuelta desnuda"),
    ("Each figure here is the best of its rounds.", "Cada cifra de aquí es la mejor de sus rondas."),
    ("Bulk: `netbench bulk` streams 64 KiB writes through each echo server on one connection and "
     "verifies every byte that comes back; the rate counts verified bytes (each byte crosses "
     "loopback twice). `iperf3` sends one way only.",
     "En bloque: `netbench bulk` envía escrituras de 64 KiB a través de cada servidor de eco por "
     "una conexión y verifica cada byte que vuelve; la tasa cuenta bytes verificados (cada byte "
     "cruza el loopback dos veces). `iperf3` envía en un solo sentido."),
    ("| peer | MB/s | ÷ iperf3 |", "| par | MB/s | ÷ iperf3 |"),
    ("| iperf3 (one way, the limit) |", "| iperf3 (un sentido, el límite) |"),
    ("Round trip: `netbench pingpong` is one blocking connection with one 2-byte message in flight "
     "(one `write` + one `read` per round trip on the client). Against `netbench raw-echo` (the "
     "same on the server side) it is the floor.",
     "Ida y vuelta: `netbench pingpong` es una conexión bloqueante con un mensaje de 2 bytes en "
     "vuelo (un `write` + un `read` por ida y vuelta en el cliente). Contra `netbench raw-echo` "
     "(lo mismo del lado del servidor) es el piso."),
    ("| server | round trips/s | p50 µs | p99 µs | p50 ÷ floor |",
     "| servidor | idas y vueltas/s | p50 µs | p99 µs | p50 ÷ piso |"),
    ("| raw echo, both ends on one core |", "| eco desnudo, los dos extremos en un núcleo |"),
    ("| raw blocking echo (netbench raw-echo) |", "| eco bloqueante desnudo (netbench raw-echo) |"),
    ("| raw echo (the floor) |", "| eco desnudo (el piso) |"),
    ("(parent only: socat forks a process per client)", "(solo el proceso padre: socat crea un proceso por cliente)"),
    # Connections.
    ("### Connections", "### Conexiones"),
    ("Opened, served once (one 16-byte round trip, or server_05's greeting) and closed by 8 clients "
     "in a loop; then 1,000 clients held open at once, every one served again at the end, with the "
     "server's resident memory from `/proc/PID/status`.",
     "Abiertas, atendidas una vez (una ida y vuelta de 16 bytes, o la bienvenida de server_05) y "
     "cerradas por 8 clientes en un ciclo; luego 1,000 clientes abiertos a la vez, cada uno "
     "atendido otra vez al final, con la memoria residente del servidor según `/proc/PID/status`."),
    ("The last column is the server's peak resident memory (VmHWM, reset before each cell) during "
     "the 1,000-connection cells of the echo table above: 1,000 clients echoing 64-byte or 16 KiB "
     "messages as fast as they can.",
     "La última columna es el pico de memoria residente del servidor (VmHWM, reiniciado antes de "
     "cada celda) durante las celdas de 1,000 conexiones de la tabla de eco de arriba: 1,000 "
     "clientes que hacen eco de mensajes de 64 bytes o de 16 KiB tan rápido como pueden."),
    ("| server | connections/s | 1,000 held: served | errors | setup s | RSS idle MiB | RSS with 1,000 held MiB | peak while held MiB | peak with 1,000 busy MiB |",
     "| servidor | conexiones/s | 1,000 abiertos: atendidos | errores | preparación s | RSS inactivo MiB | RSS con 1,000 abiertos MiB | pico con ellos abiertos MiB | pico con 1,000 ocupados MiB |"),
    # 10,000 idle.
    ("### 10,000 idle clients", "### 10,000 clientes inactivos"),
    ("`netbench connect --hold -c 10000 --sources 8`: 10,000 clients connect (from 127.0.0.1 to "
     "127.0.0.8, for enough ephemeral ports), stay silent for the cell, and every one is served "
     "again at the end. server_05 gets `--max-clients 10000` here and a watchdog that kills it "
     "past 2 GiB resident.",
     "`netbench connect --hold -c 10000 --sources 8`: 10,000 clientes se conectan (desde "
     "127.0.0.1 hasta 127.0.0.8, para tener suficientes puertos efímeros), no envían nada durante "
     "la celda, y cada uno se atiende otra vez al final. server_05 recibe aquí `--max-clients "
     "10000` y un vigilante que lo termina si pasa de 2 GiB residentes."),
    ("| server | served | errors | setup s | RSS before MiB | RSS with 10,000 idle MiB | peak after all 10,000 answer at once MiB | threads |",
     "| servidor | atendidos | errores | preparación s | RSS antes MiB | RSS con 10,000 inactivos MiB | pico cuando los 10,000 responden a la vez MiB | hilos |"),
    # NTP.
    ("### NTP: ntp_server vs chronyd", "### NTP: ntp_server contra chronyd"),
    ("`netbench ntp`: each client has one 48-byte mode-3 request in flight and checks the reply "
     "(mode 4, non-zero stratum, origin = our transmit time).",
     "`netbench ntp`: cada cliente tiene una petición de 48 bytes en modo 3 en vuelo y revisa la "
     "respuesta (modo 4, estrato distinto de cero, origin = nuestra marca transmit)."),
    ("| server | clients | requests/s | p50 µs | p99 µs | errors | ÷ chronyd |",
     "| servidor | clientes | peticiones/s | p50 µs | p99 µs | errores | ÷ chronyd |"),
    # HTTP.
    ("### HTTP: netutil::http vs curl, a 100 MB file from nginx",
     "### HTTP: netutil::http contra curl, un archivo de 100 MB desde nginx"),
    ("Best of three fetches each (the file is in the page cache; nginx uses `sendfile`).",
     "La mejor de tres descargas cada uno (el archivo está en la caché de páginas; nginx usa "
     "`sendfile`)."),
    ("| client | MB/s | ÷ curl |", "| cliente | MB/s | ÷ curl |"),
    ("| netutil::http, streamed (`netbench http`) |", "| netutil::http, por flujo (`netbench http`) |"),
    ("| netutil::http, collected in memory (`netbench http --collect`) |",
     "| netutil::http, reunido en memoria (`netbench http --collect`) |"),
    # Grading a class.
    ("### Grading a class: `coursecheck grade` on 60 submissions",
     "### Calificar un curso: `coursecheck grade` con 60 entregas"),
    ("60 Python answers to server_05 (44 correct, 8 that serve one client at a time, 6 that take "
     "one `recv` as a line, 2 that never listen), `--timeout 3`. *Ideal* is the submissions' total "
     "time divided by the jobs, or the slowest submission if that is longer. Most of a check is "
     "waiting for a reply or a timeout, so more jobs than cores still help.",
     "60 respuestas en Python a server_05 (44 correctas, 8 que atienden a un cliente a la vez, 6 "
     "que toman un `recv` como una línea, 2 que nunca escuchan), `--timeout 3`. *Ideal* es el "
     "tiempo total de las entregas dividido entre los trabajos, o la entrega más lenta si esa es "
     "más larga. Casi todo lo que hace una prueba es esperar una respuesta o que se acabe un "
     "tiempo de espera (*timeout*), así que más trabajos que núcleos todavía ayudan."),
    ("| jobs | sandboxed | wall s | total of the submissions s | slowest s | ideal s | wall ÷ ideal "
     "| all 44 correct pass | same results as `--jobs 1` |",
     "| trabajos | en entorno aislado | total real s | suma de las entregas s | la más lenta s | ideal s | "
     "real ÷ ideal | pasan las 44 correctas | los mismos resultados que `--jobs 1` |"),
    ("| grade: 60 submissions with `--jobs` = cores ≤ 1.25 × the ideal, the same results as "
     "`--jobs 1` |",
     "| grade: 60 entregas con `--jobs` = núcleos ≤ 1.25 × el ideal, los mismos resultados que "
     "`--jobs 1` |"),
    ("), same results |", "), los mismos resultados |"),
    ("), different results |", "), resultados distintos |"),
    # Cold build.
    ("### Cold build", "### Compilación en frío"),
    ("(debug, as students run it) in a fresh `CARGO_TARGET_DIR`, dependencies already downloaded: ",
     "(debug, como la ejecutan los estudiantes) en un `CARGO_TARGET_DIR` nuevo, con las "
     "dependencias ya descargadas: "),
    ("; with `--features many-clients` (server_06 and server_07, which bring mio and tokio): ",
     "; con `--features many-clients` (server_06 y server_07, que traen mio y tokio): "),
    ("; with `--features tls` (socket_06 and https_server, which bring rustls and ring): ",
     "; con `--features tls` (socket_06 y https_server, que traen rustls y ring): "),
    (". netbench's tokio is not part of the first: it lives in its own workspace crate, and the "
     "lessons' tokio is optional.",
     ". El tokio de netbench no cuenta en la primera: vive en su propio crate del workspace, y el "
     "tokio de las lecciones es opcional."),
    # Skipped rows and commands.
    ("## Rows that could not be measured", "## Filas que no se pudieron medir"),
    ("None: every row above was measured in this run.", "Ninguna: todas las filas de arriba se midieron en esta ejecución."),
    (": not run at 10000 connections: socat forks a process per client, echo_server is capped at "
     "2,000 (the line servers and the references are the subject there)",
     ": no se ejecutó con 10000 conexiones: socat crea un proceso por cliente y echo_server tiene "
     "un tope de 2,000 (allí el tema son los servidores de líneas y las referencias)"),
    (" printed no throughput: no result within ", " no imprimió ninguna tasa: ningún resultado en "),
    ("## Exact commands", "## Los comandos exactos"),
    ("Servers were started by `bench/compare` on free 127.0.0.1 ports (`--port P`); `P` below is "
     "the port of that run.",
     "`bench/compare` inició los servidores en puertos libres de 127.0.0.1 (`--port P`); `P` es "
     "abajo el puerto de esa ejecución."),
    ("<summary>every measurement of this run</summary>", "<summary>cada medición de esta ejecución</summary>"),
    # Column and row words left.
    ("| server |", "| servidor |"),
    (" (line)", " (líneas)"),
    (" (line, mio loop)", " (líneas, ciclo de mio)"),
    (" (line, tokio tasks)", " (líneas, tareas de tokio)"),
    ("Python threads", "Python con hilos"),
    ("tokio echo", "eco de tokio"),
]

# Words in data cells.
PATTERNS = [
    (r"⚠(\d+) err\b", r"⚠\1 err."),
    (r"\((\d+) connections\)", r"(\1 conexiones)"),
    (r"(\d) connections\b", r"\1 conexiones"),
    (r"with (\d+) clients\b", r"con \1 clientes"),
    (r"\((\d[\d,]*) of (\d[\d,]*) MB/s\)", r"(\1 de \2 MB/s)"),
    (r" vs (\d)", r" contra \1"),
    (r"(\d) s\*\*", r"\1 s**"),
    # The yes/no cells of the grading table.
    (r"(?<=\| )yes(?= \|)", "sí"),
]

# English words that, left in a Spanish line, mean a phrase above is missing.
ENGLISH = re.compile(r"\b(the|with|and|of|every|each|which|is|are|was|were|not|at|per)\b")


def group_thousands(match):
    """1,000 → 1000 and 10,000 → 10 000 (a narrow space), as Spanish style writes them: four
    digits stay together."""
    digits = match.group(0).replace(",", "")
    if len(digits) <= 4:
        return digits
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return "\u202f".join(groups)


def localize_numbers(text):
    """1,234 → 1 234 and 0.47 → 0,47, outside inline code; addresses and versions stay."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        p = parts[i]
        p = re.sub(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])", group_thousands, p)
        p = re.sub(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])", r"\1,\2", p)
        parts[i] = p
    return "`".join(parts)


# The chart's own words (bench/render.py's svg_chart); its server labels are in PHRASES.
CHART_PHRASES = [
    ("Messages/s, 64-byte messages", "Mensajes/s, mensajes de 64 bytes"),
    ("Messages/s, 16 KiB messages", "Mensajes/s, mensajes de 16 KiB"),
    ("Peak memory while echoing, MiB", "Memoria máxima durante el eco, MiB"),
    ("clients", "clientes"),
    (" client: ", " cliente: "),
]
# Longest first, as in to_spanish, so that a label is replaced before the words inside it.
CHART_ORDER = sorted(PHRASES + CHART_PHRASES, key=lambda pair: -len(pair[0]))


def chart_to_spanish(svg):
    """docs/es/rendimiento.svg from docs/performance.svg: the same chart with its words in
    Spanish and its numbers written the Spanish way. Only the text between tags changes, never
    an attribute (the coordinates)."""
    return re.sub(r">([^<]+)<", lambda match: ">" + chart_words(match.group(1)) + "<", svg)


def chart_words(words):
    """One text of the chart in Spanish (render.py also uses it to leave the legend room)."""
    for en, es in CHART_ORDER:
        words = words.replace(en, es)
    return localize_numbers(words)


def to_spanish(english, analysis_es):
    """The Spanish report: `english` is the English report's text, `analysis_es` the Spanish
    prose of the last section (or None)."""
    lines = english.split("\n")
    # Skip the English title and links: HEADER replaces them.
    start = next(i for i, l in enumerate(lines) if l.startswith("| | |"))
    body = lines[start:]
    cut = next((i for i, l in enumerate(body) if l.startswith("## What limits the figures")), None)
    if cut is not None:
        body = body[:cut]
    out = list(HEADER)
    fence = False
    for line in body:
        if line.startswith("```"):
            fence = not fence
            out.append(line)
            continue
        if fence or line.startswith("|---"):
            out.append(line)
            continue
        # Longest first, so that a sentence is replaced before the words inside it.
        for en, es in sorted(PHRASES, key=lambda pair: -len(pair[0])):
            line = line.replace(en, es)
        for pattern, repl in PATTERNS:
            line = re.sub(pattern, repl, line)
        out.append(localize_numbers(line))
    text = "\n".join(out).rstrip() + "\n"
    if analysis_es:
        text += "\n" + analysis_es.rstrip() + "\n"
    return text


def untranslated(spanish):
    """Lines of the generated part that still read as English."""
    found = []
    fence = False
    for line in spanish.split("\n"):
        if line.startswith("## Qué limita las cifras"):
            break
        if line.startswith("```"):
            fence = not fence
            continue
        prose = re.sub(r"`[^`]*`", "", line)
        if not fence and ENGLISH.search(prose):
            found.append(line)
    return found
