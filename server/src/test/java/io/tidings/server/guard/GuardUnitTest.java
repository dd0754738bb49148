package io.tidings.server.guard;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GuardUnitTest {
    @Test
    void cidrsMatchV4AndV6AndNeverResolveNames() {
        Cidrs c = new Cidrs(List.of("10.0.0.0/8", "192.168.1.7", "::1/128", "2001:db8::/32"));
        assertThat(c.contains("10.200.3.4")).isTrue();
        assertThat(c.contains("11.0.0.1")).isFalse();
        assertThat(c.contains("192.168.1.7")).isTrue();
        assertThat(c.contains("192.168.1.8")).isFalse();
        assertThat(c.contains("::1")).isTrue();
        assertThat(c.contains("2001:db8:1::5")).isTrue();
        assertThat(c.contains("2001:db9::5")).isFalse();
        assertThat(c.contains("localhost")).isFalse(); // a name, not an address: no lookup
        assertThat(c.contains("::ffff:10.1.2.3")).isTrue(); // IPv4-mapped IPv6 is the IPv4 address
        assertThat(Cidrs.literal("10.0.0.255")).containsExactly(10, 0, 0, (byte) 255);
        for (String notAnAddress : new String[] {"300.1.1.1", "10.0.0", "10.0.0.1.2", "10..0.1", "10.0.0.1000", "10.0.0.-1", "10.0.0.1 ", ""}) {
            assertThat(Cidrs.literal(notAnAddress)).as(notAnAddress).isNull(); // and no DNS lookup of it as a name
        }
        assertThatThrownBy(() -> new Cidrs(List.of("example.com/8"))).hasMessageContaining("example.com");
        assertThatThrownBy(() -> new Cidrs(List.of("10.0.0.0/33"))).hasMessageContaining("prefix");
    }

    @Test
    void sameOriginByDefault() {
        OriginPolicy p = new OriginPolicy(List.of());
        assertThat(p.allows(null, "tidings.example.com")).isTrue();
        assertThat(p.allows("https://tidings.example.com", "tidings.example.com")).isTrue();
        assertThat(p.allows("http://localhost:8080", "localhost:8080")).isTrue();
        assertThat(p.allows("http://localhost:3000", "localhost:8080")).isFalse();
        assertThat(p.allows("https://evil.example", "tidings.example.com")).isFalse();
        assertThat(p.allows("null", "tidings.example.com")).isFalse();
        assertThat(new OriginPolicy(List.of("*")).allows("https://anything", "x")).isTrue();
        assertThatThrownBy(() -> new OriginPolicy(List.of("https://app.example.com/path"))).hasMessageContaining("without a path");
    }
}
