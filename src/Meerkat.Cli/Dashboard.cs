namespace Meerkat.Cli;

/// <summary>The demo's front page: a link to every endpoint.</summary>
internal static class Dashboard
{
    public static ReadOnlySpan<byte> Html => """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Meerkat demo</title>
        <style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .3em}li{margin:.3em 0}</style>
        </head><body>
        <h1>Meerkat demo</h1>
        <p>One event manager, one thread, every endpoint a few lines of handler.</p>
        <ul>
        <li><a href="/plaintext">/plaintext</a>: <code>Hello, World!</code></li>
        <li><a href="/json">/json</a>: a JSON message</li>
        <li><code>POST /echo</code> (or PUT): the request body back, with its Content-Type, streamed (any size)</li>
        <li><a href="/bytes/1048576">/bytes/N</a>: N bytes with Content-Length, streamed</li>
        <li><a href="/stream-bytes/1048576">/stream-bytes/N</a>: the same, chunked</li>
        <li><a href="/delay/1000">/delay/MS</a>: answered by a worker thread after MS ms (a deferred response)</li>
        <li><a href="/status/418">/status/CODE</a>: an empty response with that status</li>
        <li><code>POST /upload</code>: the body streamed through SHA-256: <code>{"bytes":N,"sha256":"HEX"}</code></li>
        <li><a href="/sse?count=5&amp;interval=500">/sse?count=N&amp;interval=MS</a>: Server-Sent Events <span id="sse"></span></li>
        <li><a href="/api/items">/api/items</a>: a JSON API in memory: <code>GET</code>, <code>POST {"name":"tea","price":2.5}</code> (201 with Location); <code>GET</code>, <code>PUT</code>, <code>DELETE /api/items/ID</code></li>
        <li><a href="/files/">/files/</a>: static files from <code>--root</code></li>
        <li><code>/ws</code>: a WebSocket echo, close code and reason included (<code>meerkat ws ws://HOST/ws</code>)
          <form id="ws-form"><input id="ws-input" value="Hello, WebSocket!" size="24"> <button>send</button> <span id="ws"></span></form></li>
        </ul>
        <script>
        const out = document.getElementById('sse');
        const source = new EventSource('/sse?count=1000&interval=1000');
        source.onmessage = e => { out.textContent = '(live: ' + e.data + ')'; };
        const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
        const wsOut = document.getElementById('ws');
        ws.onopen = () => { wsOut.textContent = '(connected)'; };
        ws.onmessage = e => { wsOut.textContent = '(echo: ' + e.data + ')'; };
        ws.onclose = e => { wsOut.textContent = '(closed: ' + e.code + (e.reason ? ' ' + e.reason : '') + ')'; };
        document.getElementById('ws-form').onsubmit = e => { e.preventDefault(); ws.send(document.getElementById('ws-input').value); };
        </script>
        </body></html>
        """u8;
}
