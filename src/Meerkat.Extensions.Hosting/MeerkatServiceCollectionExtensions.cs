using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Meerkat.Extensions.Hosting;

/// <summary>Registers Meerkat with the Generic Host.</summary>
public static class MeerkatServiceCollectionExtensions
{
    /// <summary>Runs Meerkat managers as a hosted service (<see cref="MeerkatServer"/>): options from the
    /// configuration section <c>Meerkat</c> and the host's <c>urls</c>, then <paramref name="configure"/>.
    /// Say what they serve on the returned builder (<see cref="MeerkatBuilder.UseHttp(ConnectionHandler)"/>,
    /// <see cref="MeerkatBuilder.Configure"/>).</summary>
    /// <example>
    /// <code>
    /// var builder = Host.CreateApplicationBuilder(args);
    /// builder.Services.AddMeerkat().UseHttp((c, e) =>
    /// {
    ///     if (e.Kind == EventKind.HttpMessage) c.Reply(200, "Hello, World!");
    /// });
    /// builder.Build().Run();
    /// </code>
    /// </example>
    public static MeerkatBuilder AddMeerkat(this IServiceCollection services, Action<MeerkatServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new MeerkatBuilder(services);
        services.AddOptions();
        services.AddSingleton<IConfigureOptions<MeerkatServerOptions>, ConfigureFromConfiguration>();
        if (configure is not null) services.Configure(configure);
        services.TryAddSingleton(builder);
        services.TryAddSingleton<MeerkatServer>();
        services.AddHostedService(sp => sp.GetRequiredService<MeerkatServer>());
        return builder;
    }

    /// <summary>Binds the <c>Meerkat</c> section and the host's <c>urls</c>, when there is a configuration.</summary>
    private sealed class ConfigureFromConfiguration(IServiceProvider services) : IConfigureOptions<MeerkatServerOptions>
    {
        public void Configure(MeerkatServerOptions options)
        {
            if (services.GetService<IConfiguration>() is not { } configuration) return;
            configuration.GetSection("Meerkat").Bind(options);
            if (options.Urls.Count == 0 && configuration["urls"] is { Length: > 0 } urls)
                options.Urls.AddRange(urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
    }
}
