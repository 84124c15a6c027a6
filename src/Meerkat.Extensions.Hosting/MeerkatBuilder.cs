using Microsoft.Extensions.DependencyInjection;

namespace Meerkat.Extensions.Hosting;

/// <summary>Says what each of the hosted managers runs; returned by <c>AddMeerkat</c>.</summary>
public sealed class MeerkatBuilder
{
    internal MeerkatBuilder(IServiceCollection services) => Services = services;

    /// <summary>The services the builder registers into.</summary>
    public IServiceCollection Services { get; }

    internal List<Func<IServiceProvider, ConnectionHandler>> HttpHandlers { get; } = [];

    internal List<Action<Manager, IServiceProvider>> Setups { get; } = [];

    /// <summary>Serves HTTP on every URL of <see cref="MeerkatServerOptions.Urls"/> with the handler
    /// <paramref name="handler"/> makes: it is called once per manager, so state it captures belongs to
    /// one loop thread (a <see cref="Meerkat.Http.Routing.Router"/> may be shared).</summary>
    public MeerkatBuilder UseHttp(Func<IServiceProvider, ConnectionHandler> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        HttpHandlers.Add(handler);
        return this;
    }

    /// <summary>Serves HTTP with <paramref name="handler"/> on every manager.</summary>
    public MeerkatBuilder UseHttp(ConnectionHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return UseHttp(_ => handler);
    }

    /// <summary>Anything else each manager runs (another listener, an MQTT broker, outbound connections),
    /// called once per manager before its loop starts.</summary>
    public MeerkatBuilder Configure(Action<Manager, IServiceProvider> setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        Setups.Add(setup);
        return this;
    }
}
