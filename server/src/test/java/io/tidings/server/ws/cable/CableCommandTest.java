package io.tidings.server.ws.cable;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CableCommandTest {
    @Test
    void keepsTheIdentifierDecodedAndAsItsExactLiteral() {
        String literal = "\"{\\\"channel\\\" : \\\"N\\u0043\\\"}\"";
        CableCommand c = CableCommand.parse("{ \"identifier\" : " + literal + " , \"command\":\"subscribe\",\"data\":\"x\",\"history\":{\"since\":5}}");
        assertThat(c.command()).isEqualTo("subscribe");
        assertThat(c.identifier()).isEqualTo("{\"channel\" : \"NC\"}");
        assertThat(c.identifierJson()).isEqualTo(literal);
        assertThat(c.history().get("since").asInt()).isEqualTo(5);
    }

    @Test
    void toleratesOddFieldsAndRefusesNonObjects() {
        CableCommand c = CableCommand.parse("{\"command\":1,\"identifier\":{\"channel\":\"X\"},\"history\":[1]}");
        assertThat(c.command()).isNull();
        assertThat(c.identifier()).isNull();
        assertThat(c.identifierJson()).isNull();
        assertThat(c.history()).isNull();
        assertThat(CableCommand.parse("[]")).isNull();
        assertThat(CableCommand.parse("{\"command\":\"subscribe\"")).isNull();
        assertThat(CableCommand.parse("")).isNull();
    }
}
